/**
 * What an outbound action costs, before it is sent (the estimate the guard reserves against the
 * spending caps) — per provider, service and recipient country.
 *
 * Money is handled in integer **micro-dollars** (1e-6 USD, the precision of `usage_logs.cost`
 * NUMERIC(10,6)) so sums and cap checks are exact; `toUsd` / `fromUsd` convert at the edges.
 *
 * Defaults are the vendors' approximate list prices, kept with the adapters (`src/providers/prices.ts`);
 * they are estimates, not invoices: the provider's actual price is what `settle` logs. The `sandbox`
 * provider is priced as the default vendor of each service so demo runs show realistic costs, and an
 * unknown provider is priced the same way.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { defaultPrices, defaultVendor } from "../providers/prices.ts"
import { countSegments, type SegmentCount } from "./Segments.ts"

/** What a price is for. */
export type PricedService =
  | "sms" //             per segment
  | "mms" //             per message (body and media together)
  | "whatsapp_session" // per message inside the 24 h customer-service window
  | "whatsapp_template" // per template message (outside the window); varies by country
  | "email" //           per email
  | "voice" //           per started minute of a live AI call (ConversationRelay)
  | "voice_stream" //    per started minute of a Media Streams (DIY) call
  | "tts" //             per minute of generated audio

/** Prices in USD per unit, by ISO country; `"*"` is the fallback. */
export type CountryPrices = Readonly<Record<string, number>>

/** provider → service → country prices. */
export type Prices = Readonly<Record<string, Partial<Readonly<Record<PricedService, CountryPrices>>>>>

export const MICROS_PER_USD = 1_000_000
/** USD → integer micro-dollars (rounded half away from zero). */
export const fromUsd = (usd: number): number => Math.sign(usd) * Math.round(Math.abs(usd) * MICROS_PER_USD)
/** Integer micro-dollars → USD. */
export const toUsd = (micros: number): number => micros / MICROS_PER_USD
/** Integer micro-dollars → exact decimal text for a NUMERIC column ("0.007900"). */
export const microsToDecimal = (micros: number): string => {
  const sign = micros < 0 ? "-" : ""
  const abs = Math.abs(Math.trunc(micros))
  return `${sign}${Math.floor(abs / MICROS_PER_USD)}.${String(abs % MICROS_PER_USD).padStart(6, "0")}`
}
/** Exact decimal text (NUMERIC from the database) → integer micro-dollars. */
export const decimalToMicros = (value: string | number): number => fromUsd(typeof value === "number" ? value : Number(value))

/** What the guard knows about an action when it prices it. */
export interface PriceRequest {
  readonly kind: "message" | "call" | "voice_message"
  readonly channel: "sms" | "whatsapp" | "email" | "voice"
  readonly body: string
  readonly country: string | undefined
  readonly provider?: string | undefined
  readonly mediaCount?: number | undefined
  /** WhatsApp: a template message (outside the 24 h window). Unknown → priced as a template (the higher). */
  readonly template?: boolean | undefined
  /** Calls and voice messages: expected minutes. */
  readonly estimatedMinutes?: number | undefined
  /** Calls: the agent's per-call cap; an estimate never exceeds it, and a call without an estimate reserves it. */
  readonly maxCallMinutes: number
}

export interface PriceLine {
  readonly service: PricedService
  readonly units: number
  /** micro-dollars per unit */
  readonly unitPrice: number
}

export interface PriceEstimate {
  /** micro-dollars */
  readonly cost: number
  readonly lines: ReadonlyArray<PriceLine>
  /** SMS only: how the body is encoded and how many segments it takes. */
  readonly segments: SegmentCount | undefined
}

/** Speaking rate used to estimate the length of a voice message from its text. */
const WORDS_PER_MINUTE = 150

/** Minutes of audio for a text read aloud (at least a few seconds). */
export const speechMinutes = (text: string): number => {
  const words = text.trim() === "" ? 0 : text.trim().split(/\s+/).length
  return Math.max(words / WORDS_PER_MINUTE, 0.1)
}

export interface PriceTableShape {
  readonly prices: Prices
  /** micro-dollars per unit of a service for a provider and country. */
  readonly unitPrice: (provider: string | undefined, service: PricedService, country: string | undefined) => number
  readonly estimate: (request: PriceRequest) => PriceEstimate
}

/** A price table over `prices` (pure). */
export const makePriceTable = (
  prices: Prices,
  vendorOf: Readonly<Record<PricedService, string>> = defaultVendor
): PriceTableShape => {
  const unitPrice = (provider: string | undefined, service: PricedService, country: string | undefined): number => {
    const vendor = provider === undefined || provider === "sandbox" ? vendorOf[service] : provider
    const table = prices[vendor]?.[service] ?? prices[vendorOf[service]]?.[service] ?? {}
    const usd = (country !== undefined ? table[country] : undefined) ?? table["*"] ?? 0
    return fromUsd(usd)
  }

  const estimate = (r: PriceRequest): PriceEstimate => {
    const lines: Array<PriceLine> = []
    const line = (service: PricedService, units: number) =>
      lines.push({ service, units, unitPrice: unitPrice(r.provider, service, r.country) })
    let segments: SegmentCount | undefined
    const callMinutes = (minutes: number) => Math.max(1, Math.ceil(Math.min(minutes, r.maxCallMinutes)))

    if (r.kind === "message") {
      switch (r.channel) {
        case "sms":
          if ((r.mediaCount ?? 0) > 0) line("mms", 1)
          else {
            segments = countSegments(r.body)
            line("sms", segments.segments)
          }
          break
        case "whatsapp":
          line(r.template === false ? "whatsapp_session" : "whatsapp_template", 1)
          break
        case "email":
          line("email", 1)
          break
        case "voice":
          line("voice", callMinutes(r.estimatedMinutes ?? speechMinutes(r.body)))
          break
      }
    } else if (r.kind === "call") {
      line("voice", callMinutes(r.estimatedMinutes ?? r.maxCallMinutes))
    } else {
      // a voice message: generated speech, delivered as a phone call or as WhatsApp audio
      const audio = r.estimatedMinutes ?? speechMinutes(r.body)
      line("tts", Math.ceil(audio * 100) / 100)
      if (r.channel === "whatsapp") line(r.template === false ? "whatsapp_session" : "whatsapp_template", 1)
      else line("voice", callMinutes(audio))
    }
    const cost = lines.reduce((sum, l) => sum + Math.round(l.units * l.unitPrice), 0)
    return { cost, lines, segments }
  }

  return { prices, unitPrice, estimate }
}

/**
 * The price table as a service (default: `defaultPrices`); swap it with `PriceTable.layer(prices)`
 * to run with negotiated prices.
 */
export class PriceTable extends Effect.Service<PriceTable>()("app/billing/PriceTable", {
  sync: () => makePriceTable(defaultPrices)
}) {
  /** A layer with other prices (negotiated rates, tests). */
  static readonly layer = (prices: Prices): Layer.Layer<PriceTable> =>
    Layer.succeed(PriceTable, PriceTable.make(makePriceTable(prices)))
}
