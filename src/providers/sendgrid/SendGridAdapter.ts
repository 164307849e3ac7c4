import type * as HttpClient from "@effect/platform/HttpClient"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { Client } from "@sendgrid/client"
import { MailService } from "@sendgrid/mail"
import type { EmailAdapter } from "../Adapters.ts"
import { attachmentName, fetchMedia } from "../fetchMedia.ts"
import { ProviderError, type ProviderErrorKind } from "../ProviderError.ts"
import { verifyBasicAuth, verifyUrlSecret } from "../../webhooks/verify.ts"
import { decodeEvents, verifyEventSignature } from "./SendGridEvents.ts"
import { decodeInboundParse } from "./SendGridInbound.ts"

export const SendGridCredentials = Schema.Struct({
  apiKey: Schema.String.pipe(Schema.pattern(/^SG\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}$/, { message: () => "must look like SG.xxx.yyy" })),
  /** The Event Webhook's verification key (base64 SPKI, public): enables delivery events. */
  eventVerificationKey: Schema.optionalWith(Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9+/=]{40,400}$/)), { exact: true })
})

export interface SendGridOptions {
  readonly apiBaseUrl: string | undefined
  readonly inboundDomain: string
  readonly inboundSecret: Redacted.Redacted<string>
  readonly allowPrivateMedia: boolean
  readonly timeoutMs: number
}

const NAME = "sendgrid"
const MAX_INBOUND_EMAIL_BYTES = 10 * 1024 * 1024

const FIELD_OF = (field: string | null | undefined): string | undefined => {
  if (field === null || field === undefined) return undefined
  if (/^personalizations\.\d+\.to/.test(field)) return "to"
  if (/^personalizations\.\d+\.bcc/.test(field)) return "bcc"
  if (field.startsWith("from")) return "from"
  if (field.startsWith("attachments")) return "mediaUrl"
  if (field.startsWith("subject")) return "subject"
  if (field.startsWith("content")) return "body"
  return undefined
}

interface SdkError {
  readonly code?: unknown
  readonly response?: { readonly headers?: Readonly<Record<string, string>>; readonly body?: unknown }
}

/** Any SDK failure → a `ProviderError` without PII. */
export const mapSendGridError = (operation: string) => (e: unknown): ProviderError => {
  const err = (typeof e === "object" && e !== null ? e : {}) as SdkError
  const status = typeof err.code === "number" ? err.code : undefined
  const make = (kind: ProviderErrorKind, reason: string, extra: { field?: string; retryAfterSeconds?: number } = {}) =>
    new ProviderError({ provider: NAME, operation, kind, reason, ...extra })
  if (status === undefined) {
    const code = typeof err.code === "string" ? err.code : ""
    return ["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH"].includes(code)
      ? make("unavailable", "unreachable")
      : make("unknown_outcome", "no answer (timeout)")
  }
  if (status === 401 || status === 403) return make("auth", `credentials refused (HTTP ${status})`)
  if (status === 429) {
    const after = Number(err.response?.headers?.["retry-after"] ?? err.response?.headers?.["x-ratelimit-reset"] ?? "")
    return make("throttled", "too many requests", { retryAfterSeconds: Number.isFinite(after) && after > 0 && after < 3600 ? after : 1 })
  }
  if (status >= 500) return make("unavailable", `HTTP ${status}`)
  const body = err.response?.body
  const errors = typeof body === "object" && body !== null && "errors" in body && Array.isArray(body.errors) ? body.errors : []
  const first: unknown = errors[0]
  const field = typeof first === "object" && first !== null && "field" in first && typeof first.field === "string"
    ? FIELD_OF(first.field)
    : undefined
  return field !== undefined
    ? make("invalid_input", `refused (HTTP ${status})`, { field })
    : make("rejected", `refused (HTTP ${status})`)
}

const presentedKey = (url: string): string | undefined => {
  try {
    return new URL(url).searchParams.get("key") ?? undefined
  } catch {
    return undefined
  }
}

/**
 * Email on SendGrid through the official SDKs: send with attachments, BCC, custom headers and the
 * agent's sender identity (`@sendgrid/mail`); Inbound Parse (multipart; unsigned, so authenticated by
 * the secret in its URL or basic auth); the Event Webhook (ECDSA, `@sendgrid/eventwebhook`).
 */
export const makeSendGrid = (
  credentials: { readonly apiKey: Redacted.Redacted<string>; readonly eventVerificationKey: string | undefined },
  options: SendGridOptions,
  http: HttpClient.HttpClient
): EmailAdapter => {
  const client = new Client()
  client.setApiKey(Redacted.value(credentials.apiKey))
  // after setApiKey, which resets the base URL to the region's host
  if (options.apiBaseUrl !== undefined) client.setDefaultRequest("baseUrl", options.apiBaseUrl)
  const mail = new MailService()
  mail.setClient(client)
  mail.setTimeout(options.timeoutMs)

  const call = <A>(operation: string, f: () => Promise<A>) =>
    Effect.tryPromise({ try: f, catch: mapSendGridError(operation) }).pipe(Effect.withSpan(`SendGrid.${operation}`))

  return {
    slot: "email",
    name: NAME,
    capabilities: ["email"],
    provisionAddress: ({ agentId }) =>
      Effect.succeed({
        address: `${agentId.toLowerCase().replace(/[^a-z0-9._-]/g, "-")}@${options.inboundDomain}`,
        providerRef: options.inboundDomain
      }),
    releaseAddress: () => Effect.void,
    send: (req) =>
      Effect.gen(function*() {
        const files = yield* Effect.forEach(req.attachments, (m, i) =>
          fetchMedia(http, m, options.allowPrivateMedia).pipe(
            Effect.map((bytes) => ({
              content: bytes.toString("base64"),
              filename: attachmentName(m, i),
              type: m.contentType,
              disposition: "attachment"
            })),
            Effect.mapError(() =>
              new ProviderError({ provider: NAME, operation: "send email", kind: "invalid_input", field: "mediaUrl", reason: "the attachment could not be fetched" })
            )
          ))
        const [response] = yield* call("send email", () =>
          mail.send({
            to: req.to,
            from: { email: req.from, name: req.fromName },
            ...(req.bcc !== undefined ? { bcc: req.bcc } : {}),
            subject: req.subject,
            text: req.text,
            headers: { ...req.headers },
            ...(files.length > 0 ? { attachments: files } : {}),
            ...(req.correlationId !== undefined ? { customArgs: { ref: req.correlationId } } : {})
          }))
        const id = response.headers["x-message-id"]
        if (typeof id !== "string" || id === "") {
          return yield* new ProviderError({ provider: NAME, operation: "send email", kind: "unknown_outcome", reason: "accepted without a message id" })
        }
        return { providerMessageId: id, status: "queued" as const }
      }),
    verifyInbound: (req) =>
      Effect.sync(() =>
        verifyUrlSecret({ expected: options.inboundSecret, presented: presentedKey(req.url) }) ||
        verifyBasicAuth(req.headers["authorization"], "sendgrid", options.inboundSecret)
      ),
    decodeInbound: (req) => decodeInboundParse(req.rawBody, req.headers["content-type"] ?? "", MAX_INBOUND_EMAIL_BYTES),
    verifyEvents: (req) =>
      credentials.eventVerificationKey === undefined
        ? Effect.succeed(false)
        : Effect.map(Clock.currentTimeMillis, (now) => verifyEventSignature(credentials.eventVerificationKey!, req.headers, req.rawBody, now)),
    decodeEvents: (req) => decodeEvents(req.rawBody),
    // a read-only call: the API key's scopes
    health: call("verify credentials", () => client.request({ method: "GET", url: "/v3/scopes" })).pipe(
      Effect.as({ status: "ok" as const }),
      Effect.catchAll((e) => Effect.succeed({ status: "error" as const, reason: e.reason }))
    )
  }
}
