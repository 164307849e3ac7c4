import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import twilio from "twilio"
import type { TelephonyAdapter } from "../Adapters.ts"
import { twilioWebhookCodec } from "./TwilioWebhookCodec.ts"
import { ProviderError, type ProviderErrorKind } from "../ProviderError.ts"
import { TwilioHttpClient, TwilioTransportError } from "./TwilioHttp.ts"

/** What `comms_register_provider` accepts for Twilio (and TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN hold). */
export const TwilioCredentials = Schema.Struct({
  accountSid: Schema.String.pipe(Schema.pattern(/^AC[0-9a-fA-F]{32}$/, { message: () => "must be AC followed by 32 hex digits" })),
  authToken: Schema.String.pipe(Schema.pattern(/^[0-9a-fA-F]{32}$/, { message: () => "must be 32 hex digits" }))
})
export type TwilioCredentials = typeof TwilioCredentials.Type

export interface TwilioOptions {
  /** Another origin for the REST API (a local emulator); default: Twilio's own hosts. */
  readonly apiBaseUrl: string | undefined
  readonly timeoutMs: number
}

const NAME = "twilio"

/** Twilio error codes → our kinds, with the field of our request each one is about. */
const CODES: Readonly<Record<number, { readonly kind: ProviderErrorKind; readonly field?: string; readonly reason: string }>> = {
  21211: { kind: "invalid_input", field: "to", reason: "the recipient is not a valid phone number" },
  21214: { kind: "invalid_input", field: "to", reason: "the recipient cannot be reached" },
  21408: { kind: "invalid_input", field: "to", reason: "the recipient's region is not enabled" },
  21614: { kind: "invalid_input", field: "to", reason: "the recipient is not a mobile number" },
  21212: { kind: "invalid_input", field: "from", reason: "the sender number is not valid" },
  21606: { kind: "invalid_input", field: "from", reason: "the sender number cannot send this message" },
  21620: { kind: "invalid_input", field: "mediaUrl", reason: "the media URL is not valid" },
  21610: { kind: "rejected", reason: "the recipient has opted out at the carrier (STOP)" },
  63016: { kind: "rejected", reason: "WhatsApp free-form message outside the 24-hour window" },
  20003: { kind: "auth", reason: "authentication failed" },
  20429: { kind: "throttled", reason: "too many requests" }
}

class NoNumbers extends Error {}

/**
 * The SDK's `RestException`, recognised by shape: the SDK may be loaded twice (its CommonJS build
 * through an ESM default import), so `instanceof` is not reliable.
 */
const isRestException = (e: unknown): e is { readonly status: number; readonly code?: number } =>
  typeof e === "object" && e !== null && "status" in e && typeof e.status === "number" &&
  (!("code" in e) || e.code === undefined || typeof e.code === "number")

/** Any SDK failure → a `ProviderError` without PII (Twilio's own messages quote numbers: never kept). */
export const mapTwilioError = (operation: string) => (e: unknown): ProviderError => {
  if (e instanceof TwilioTransportError) {
    return new ProviderError({
      provider: NAME,
      operation,
      kind: e.kind,
      reason: e.kind === "throttled" ? "too many requests" : e.kind === "unavailable" ? "unreachable or 5xx" : "no answer (timeout)",
      ...(e.retryAfterSeconds !== undefined ? { retryAfterSeconds: e.retryAfterSeconds } : {})
    })
  }
  if (e instanceof NoNumbers) {
    return new ProviderError({ provider: NAME, operation, kind: "rejected", reason: "no number available in that country" })
  }
  if (isRestException(e)) {
    const known = e.code !== undefined ? CODES[e.code] : undefined
    const kind: ProviderErrorKind = known?.kind ?? (e.status === 401 ? "auth" : e.status === 429 ? "throttled" : "rejected")
    return new ProviderError({
      provider: NAME,
      operation,
      kind,
      reason: `${known?.reason ?? "refused"} (Twilio error ${e.code ?? e.status})`,
      ...(known?.field !== undefined ? { field: known.field } : {}),
      ...(kind === "throttled" ? { retryAfterSeconds: 1 } : {})
    })
  }
  return new ProviderError({ provider: NAME, operation, kind: "unavailable", reason: "unexpected client failure" })
}

const wa = (channel: "sms" | "whatsapp", address: string) => (channel === "whatsapp" ? `whatsapp:${address}` : address)

/**
 * Telephony on Twilio through the official SDK: numbers bought in the agent's country with our SMS and
 * voice webhook URLs, SMS/MMS/WhatsApp (templates by Content SID) with a status callback, webhooks
 * verified with `X-Twilio-Signature`.
 */
export const makeTwilio = (credentials: {
  readonly accountSid: string
  readonly authToken: Redacted.Redacted<string>
}, options: TwilioOptions): TelephonyAdapter => {
  const client = twilio(credentials.accountSid, Redacted.value(credentials.authToken), {
    httpClient: new TwilioHttpClient(options.apiBaseUrl, options.timeoutMs),
    autoRetry: false
  })
  const call = <A>(operation: string, f: () => Promise<A>) =>
    Effect.tryPromise({ try: f, catch: mapTwilioError(operation) }).pipe(Effect.withSpan(`Twilio.${operation}`))

  return {
    slot: "telephony",
    name: NAME,
    capabilities: ["sms", "mms", "whatsapp", "voice"],
    provisionNumber: (req) =>
      call("provision number", async () => {
        const country = client.availablePhoneNumbers(req.country.toUpperCase())
        const local = await country.local.list({ smsEnabled: true, voiceEnabled: true, limit: 1 })
        const candidate = local[0] ?? (await country.mobile.list({ smsEnabled: true, limit: 1 }))[0]
        if (candidate === undefined) throw new NoNumbers()
        const bought = await client.incomingPhoneNumbers.create({
          phoneNumber: candidate.phoneNumber,
          smsUrl: req.smsUrl,
          smsMethod: "POST",
          voiceUrl: req.voiceUrl,
          voiceMethod: "POST",
          friendlyName: `agent ${req.agentId}`
        })
        return { number: bought.phoneNumber, providerRef: bought.sid }
      }),
    releaseNumber: (_agentId, held) =>
      held === undefined
        ? Effect.void
        : call("release number", () => client.incomingPhoneNumbers(held.providerRef).remove()).pipe(Effect.asVoid),
    sendMessage: (req) =>
      call("send message", () =>
        client.messages.create({
          to: wa(req.channel, req.to),
          from: wa(req.channel, req.from),
          statusCallback: req.statusCallbackUrl,
          ...(req.template !== undefined
            ? { contentSid: req.template.id, contentVariables: JSON.stringify(req.template.variables) }
            : { body: req.body }),
          ...(req.media.length > 0 ? { mediaUrl: req.media.map((m) => m.url) } : {})
        })).pipe(
          Effect.map((m) => ({ providerMessageId: m.sid, status: m.status === "sent" ? "sent" as const : "queued" as const }))
        ),
    ...twilioWebhookCodec(credentials.authToken),
    health: call("verify credentials", () => client.api.v2010.accounts(credentials.accountSid).fetch()).pipe(
      Effect.as({ status: "ok" as const }),
      Effect.catchAll((e) => Effect.succeed({ status: "error" as const, reason: e.reason }))
    )
  }
}
