/** SMS segment counting (property-tested) and the price table's estimates. */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { fromUsd, makePriceTable, microsToDecimal, decimalToMicros } from "../../src/billing/PriceTable.ts"
import { defaultPrices } from "../../src/providers/prices.ts"
import {
  countSegments,
  GSM7_BASIC,
  GSM7_EXTENSION,
  gsm7Weight,
  isGsm7,
  splitSegments
} from "../../src/billing/Segments.ts"

const basicChar = fc.constantFrom(...GSM7_BASIC)
const extChar = fc.constantFrom(...GSM7_EXTENSION)
const gsmText = (maxLength: number) => fc.array(fc.oneof({ weight: 5, arbitrary: basicChar }, { weight: 1, arbitrary: extChar }), { maxLength }).map((a) => a.join(""))
const anyText = fc.oneof(
  fc.string({ maxLength: 700, unit: "grapheme" }),
  fc.string({ maxLength: 700 }),
  gsmText(700),
  fc.tuple(gsmText(400), fc.constantFrom("😀", "ж", "中", "ç", "\u{1F468}\u200D\u{1F469}"), gsmText(200)).map(([a, b, c]) => a + b + c)
)
const units = (text: string) => [...text].reduce((n, c) => n + (isGsm7(text) ? gsm7Weight(c) : c.length), 0)

describe("SMS segments", () => {
  it("the GSM-7 alphabet has 127 basic characters (plus ESC) and 10 extension characters", () => {
    expect([...GSM7_BASIC]).toHaveLength(127)
    expect(new Set(GSM7_BASIC).size).toBe(127)
    expect([...GSM7_EXTENSION]).toHaveLength(10)
  })

  it("examples at the edges", () => {
    expect(countSegments("")).toEqual({ encoding: "GSM-7", segments: 1, units: 0 })
    expect(countSegments("a".repeat(160)).segments).toBe(1)
    expect(countSegments("a".repeat(161)).segments).toBe(2)
    expect(countSegments("a".repeat(306)).segments).toBe(2)
    expect(countSegments("a".repeat(307)).segments).toBe(3)
    expect(countSegments("€".repeat(80))).toEqual({ encoding: "GSM-7", segments: 1, units: 160 })
    // 81 escape pairs = 162 septets: 76 pairs fit a 153-septet segment (an escape pair is never split)
    expect(countSegments("€".repeat(81)).segments).toBe(2)
    expect(countSegments("a".repeat(152) + "€").segments).toBe(1) // 154 septets in one message
    expect(countSegments("a".repeat(159) + "€").segments).toBe(2) // 161
    expect(countSegments("ж".repeat(70))).toEqual({ encoding: "UCS-2", segments: 1, units: 70 })
    expect(countSegments("ж".repeat(71)).segments).toBe(2)
    expect(countSegments("ж".repeat(134)).segments).toBe(2)
    expect(countSegments("ж".repeat(135)).segments).toBe(3)
    expect(countSegments("😀".repeat(35))).toEqual({ encoding: "UCS-2", segments: 1, units: 70 })
    expect(countSegments("😀".repeat(36)).segments).toBe(2) // 33 emoji (66 units) per segment
    expect(countSegments("a".repeat(100) + "ç").encoding).toBe("UCS-2")
  })

  it("property: plain GSM-7 text takes 1 segment up to 160 characters, then ceil(n / 153)", () => {
    fc.assert(
      fc.property(fc.array(basicChar, { maxLength: 2000 }).map((a) => a.join("")), (text) => {
        const n = [...text].length
        expect(countSegments(text)).toEqual({ encoding: "GSM-7", segments: n <= 160 ? 1 : Math.ceil(n / 153), units: n })
      })
    )
  })

  it("property: extension characters count 2 septets; segments are between ceil(u/153) and ceil(u/152)", () => {
    fc.assert(
      fc.property(gsmText(1200), (text) => {
        const c = countSegments(text)
        const septets = [...text].reduce((n, ch) => n + gsm7Weight(ch), 0)
        expect(c.units).toBe(septets)
        if (septets <= 160) expect(c.segments).toBe(1)
        else {
          expect(c.segments).toBeGreaterThanOrEqual(Math.ceil(septets / 153))
          expect(c.segments).toBeLessThanOrEqual(Math.ceil(septets / 152))
        }
      })
    )
  })

  it("property: text with any non-GSM character is UCS-2 with UTF-16 units; 1 segment up to 70, then at least ceil(u / 67)", () => {
    fc.assert(
      fc.property(anyText, (text) => {
        fc.pre(!isGsm7(text))
        const c = countSegments(text)
        expect(c.encoding).toBe("UCS-2")
        expect(c.units).toBe(text.length)
        if (text.length <= 70) expect(c.segments).toBe(1)
        else {
          expect(c.segments).toBeGreaterThanOrEqual(Math.ceil(text.length / 67))
          expect(c.segments).toBeLessThanOrEqual(Math.ceil(text.length / 66))
        }
      })
    )
  })

  it("property: the split concatenates back, fits the limits, never splits a surrogate pair, and matches the count", () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const parts = splitSegments(text)
        expect(parts.join("")).toBe(text)
        expect(parts.length).toBe(countSegments(text).segments)
        const gsm = isGsm7(text)
        if (parts.length > 1) {
          for (const part of parts) {
            expect(gsm ? units(part) : part.length).toBeLessThanOrEqual(gsm ? 153 : 67)
            expect(part.length).toBeGreaterThan(0)
            // no lone surrogate at either end
            expect(/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/.test(part)).toBe(false)
          }
        }
      })
    )
  })

  it("property: appending a character never reduces the segment count", () => {
    fc.assert(
      fc.property(anyText, fc.oneof(basicChar, extChar, fc.string({ minLength: 1, maxLength: 1, unit: "grapheme" })), (text, c) => {
        expect(countSegments(text + c).segments).toBeGreaterThanOrEqual(countSegments(text).segments)
      })
    )
  })
})

describe("price table", () => {
  const table = makePriceTable(defaultPrices)
  const base = { body: "hello", country: "US", maxCallMinutes: 10 } as const

  it("SMS per segment by country; MMS per message; sandbox priced as its vendor", () => {
    expect(table.estimate({ ...base, kind: "message", channel: "sms" }).cost).toBe(7_900)
    expect(table.estimate({ ...base, kind: "message", channel: "sms", body: "x".repeat(161) }).cost).toBe(15_800)
    expect(table.estimate({ ...base, kind: "message", channel: "sms", provider: "sandbox" }).cost).toBe(7_900)
    expect(table.estimate({ ...base, kind: "message", channel: "sms", provider: "telnyx" }).cost).toBe(4_000)
    expect(table.estimate({ ...base, kind: "message", channel: "sms", country: "DE" }).cost).toBe(50_000)
    expect(table.estimate({ ...base, kind: "message", channel: "sms", mediaCount: 2 }).cost).toBe(20_000)
    expect(table.estimate({ ...base, kind: "message", channel: "sms", body: "x".repeat(161) }).segments?.segments).toBe(2)
  })

  it("WhatsApp session vs template (unknown → template), email, calls and voice messages", () => {
    expect(table.estimate({ ...base, kind: "message", channel: "whatsapp", template: false }).cost).toBe(5_000)
    expect(table.estimate({ ...base, kind: "message", channel: "whatsapp" }).cost).toBe(30_000)
    expect(table.estimate({ ...base, kind: "message", channel: "whatsapp", country: "DE" }).cost).toBe(80_000)
    expect(table.estimate({ ...base, kind: "message", channel: "email", provider: "sandbox" }).cost).toBe(1_000)
    // a call without an estimate reserves the per-call cap; minutes are rounded up and capped
    expect(table.estimate({ ...base, kind: "call", channel: "voice" }).cost).toBe(1_000_000)
    expect(table.estimate({ ...base, kind: "call", channel: "voice", estimatedMinutes: 2.5 }).cost).toBe(300_000)
    expect(table.estimate({ ...base, kind: "call", channel: "voice", estimatedMinutes: 60 }).cost).toBe(1_000_000)
    // 1 minute of speech: TTS 0.02 + one call minute 0.10
    const words = Array.from({ length: 150 }, () => "word").join(" ")
    expect(table.estimate({ ...base, kind: "voice_message", channel: "voice", body: words }).cost).toBe(120_000)
    expect(table.estimate({ ...base, kind: "voice_message", channel: "whatsapp", body: words, template: false }).cost).toBe(25_000)
  })

  it("money: micro-dollar conversions are exact", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 9_999_999_999_999 }), (micros) => {
        expect(decimalToMicros(microsToDecimal(micros))).toBe(micros)
        expect(fromUsd(micros / 1_000_000)).toBe(micros)
      })
    )
    expect(microsToDecimal(7_900)).toBe("0.007900")
  })
})
