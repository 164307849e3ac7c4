/**
 * Inbound webhooks: `POST /webhooks/:agentId/<kind>` for `sms`, `whatsapp`,
 * `email`, `message-status` and `call-status`, and the account-wide
 * `POST /webhooks/email-events` (email delivery events: one URL per vendor account).
 *
 * Every request goes through the same steps, in this order:
 * 1. size cap on the raw body (1 MiB for form/JSON posts, 10 MiB for email) → 413
 * 2. a provider adapter verifies it over the exact bytes and the public URL the
 *    provider called (`PublicUrl` base + path + query): the adapter holding the
 *    agent's number/inbox first, then the agent's provider chain. None → 403, a
 *    `webhook_rejected` audit event and a security log line; nothing else runs
 * 3. the agent must be active → 404
 * 4. that adapter decodes it into our types → 400 `invalid_webhook`
 * 5. sanity: an inbound message's `To` must be the agent's own address on that
 *    channel and its `From` a valid address → 400 `invalid_webhook`, nothing stored
 * 6. `Inbound` records it (a duplicate provider message id is acknowledged
 *    and not processed again) and queues the orchestrator callback
 * 7. the answer: an empty TwiML-style XML document for messages (what form-posting
 *    vendors expect; JSON vendors ignore the body), 200 JSON for email, 204 for status.
 *
 * The routes know no vendor: verification and decoding are the adapters'
 * (`ProviderRegistry`). A body is never logged or echoed.
 * The server's request log line is replaced by one without the query string:
 * an inbound-mail URL carries its secret there (`?key=…`).
 */
import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import { readCappedBody } from "../http/readCappedBody.ts"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { AgentId } from "../../schema/Ids.ts"
import type { WebhookParseError } from "../../schema/Webhooks.ts"
import { AgentsRepo } from "../agents/AgentsRepo.ts"
import { PublicUrl } from "../http/PublicUrl.ts"
import { Inbound } from "../messaging/Inbound.ts"
import { AuditLog } from "../observability/AuditLog.ts"
import * as SqlClient from "@effect/sql/SqlClient"
import { isValidPhoneNumber } from "libphonenumber-js"
import type { AgentRecord } from "../agents/AgentsRepo.ts"
import type { EmailAdapter, TelephonyAdapter } from "../providers/Adapters.ts"
import { PENDING_PREFIX } from "../providers/ProviderRouting.ts"
import { ProviderRegistry } from "../providers/ProviderRegistry.ts"
import type { WebhookRequest } from "../providers/Telephony.ts"
import { Compliance } from "../policy/Compliance.ts"
import { parseForm } from "./parse.ts"

export type WebhookKind = "sms" | "whatsapp" | "email" | "message-status" | "call-status"

export const WEBHOOK_KINDS: ReadonlyArray<WebhookKind> = ["sms", "whatsapp", "email", "message-status", "call-status"]

/** Largest form or JSON post accepted (vendors' are a few KiB). */
export const MAX_FORM_BYTES = 1024 * 1024
/** Largest inbound email accepted. */
export const MAX_EMAIL_BYTES = 10 * 1024 * 1024

const errorResponse = (status: number, code: string, message: string) =>
  HttpServerResponse.unsafeJson({ error: { code, message } }, { status })

/** The empty XML answer form-posting vendors expect: "received, nothing to reply". */
export const TWIML_EMPTY = `<?xml version="1.0" encoding="UTF-8"?><Response/>`
const twiml = HttpServerResponse.text(TWIML_EMPTY, { contentType: "text/xml" })

/**
 * Reads the raw body, at most `maxBytes`. Reads the Node request directly so an
 * oversized body is answered 413 while Node discards the rest (the platform's
 * reader would reset the connection instead).
 */
const readRawBody = (
  request: HttpServerRequest.HttpServerRequest,
  maxBytes: number
): Effect.Effect<Buffer, HttpServerResponse.HttpServerResponse> =>
  readCappedBody(request, maxBytes).pipe(
    Effect.mapError((e) =>
      e === "too_large"
        ? errorResponse(413, "payload_too_large", `the request body exceeds ${maxBytes} bytes`)
        : errorResponse(400, "invalid_webhook", "the request body could not be read")
    )
  )

const invalid = (e: WebhookParseError) => errorResponse(400, "invalid_webhook", e.message)

/** E.164 (+ and 8-15 digits) that libphonenumber accepts, or a 3-8 digit short code. */
const validPhoneSender = (from: string): boolean =>
  /^\d{3,8}$/.test(from) || (/^\+[1-9]\d{7,14}$/.test(from) && isValidPhoneNumber(from))

const validEmailAddress = (address: string): boolean =>
  address.length <= 320 && /^[^\s@<>(),;:"\\[\]]+@[^\s@<>(),;:"\\[\]]+\.[^\s@<>(),;:"\\[\]]+$/.test(address)

const isForm = (contentType: string | undefined): boolean =>
  (contentType ?? "").split(";")[0]!.trim().toLowerCase() === "application/x-www-form-urlencoded"

/** The `ref` query parameter our routing layer puts on status-callback URLs. */
const refOf = (url: string): string | undefined => {
  try {
    const ref = new URL(url).searchParams.get("ref")
    return ref !== null && /^[0-9a-f-]{36}$/.test(ref) ? ref : undefined
  } catch {
    return undefined
  }
}

/** Adds the webhook routes to the router. */
export const WebhookRoutes = Layer.scopedDiscard(Effect.gen(function*() {
  const router = yield* HttpLayerRouter.HttpRouter
  const registry = yield* ProviderRegistry
  const agents = yield* AgentsRepo
  const inbound = yield* Inbound
  const audit = yield* AuditLog
  const publicUrl = yield* PublicUrl
  const compliance = yield* Compliance
  const sql = yield* SqlClient.SqlClient
  const decodeAgentId = Schema.decodeUnknownOption(AgentId)

  /** The first candidate whose verification accepts the request. */
  const firstVerified = <A>(candidates: ReadonlyArray<A>, verify: (a: A) => Effect.Effect<boolean>) =>
    Effect.gen(function*() {
      for (const a of candidates) if (yield* verify(a)) return Option.some(a)
      return Option.none<A>()
    })

  /** A message whose send outcome was unknown is recorded under `pending:<ref>`: give it the vendor's id. */
  const adoptPending = (agentId: AgentId, ref: string | undefined, providerId: string) =>
    ref === undefined ? Effect.void : sql`UPDATE messages SET external_id = ${providerId}, updated_at = now()
      WHERE agent_id = ${agentId} AND external_id = ${PENDING_PREFIX + ref} AND direction = 'outbound'`.pipe(
      Effect.asVoid,
      Effect.orDie
    )

  /** 400 unless the message is addressed to this agent on this channel, from a valid sender. */
  const sane = (agent: AgentRecord, channel: "sms" | "whatsapp" | "email", from: string, to: string) => {
    const own = channel === "sms" ? agent.phoneNumber : channel === "whatsapp" ? agent.whatsappNumber : agent.emailAddress
    const toOk = own !== null && (channel === "email" ? own.toLowerCase() === to.toLowerCase() : own === to)
    if (!toOk) return Option.some(errorResponse(400, "invalid_webhook", `To is not this agent's ${channel} address`))
    const fromOk = channel === "email" ? validEmailAddress(from) : validPhoneSender(from)
    return fromOk ? Option.none() : Option.some(errorResponse(400, "invalid_webhook", `From is not a valid ${channel} address`))
  }
  /** 403, a security event and an audit row; the request is not processed. */
  const reject = (kind: WebhookKind, agentId: Option.Option<AgentId>) =>
    Effect.gen(function*() {
      yield* audit.append({
        eventType: "webhook_rejected",
        actor: "webhook",
        target: Option.getOrUndefined(agentId),
        details: { kind, reason: "signature" }
      })
      yield* Effect.logWarning("webhook rejected: missing or invalid signature").pipe(
        Effect.annotateLogs({
          agentId: Option.getOrElse(agentId, () => "(invalid)"),
          kind,
          securityEvent: "webhook_rejected"
        })
      )
      return errorResponse(403, "forbidden", "the webhook signature is missing or invalid")
    })

  const activeAgent = (agentId: Option.Option<AgentId>) =>
    Option.match(agentId, {
      onNone: () => Effect.fail(errorResponse(404, "not_found", "no such agent")),
      onSome: (id) =>
        agents.find(id).pipe(
          Effect.flatMap((found) =>
            Option.isSome(found) && found.value.status === "active"
              ? Effect.succeed(found.value)
              : Effect.fail(errorResponse(404, "not_found", `agent ${id} is not provisioned`))
          )
        )
    })

  const handle = (kind: WebhookKind) => (request: HttpServerRequest.HttpServerRequest) =>
    Effect.gen(function*() {
      const agentId = decodeAgentId((yield* HttpLayerRouter.params)["agentId"])
      const rawBody = yield* readRawBody(request, kind === "email" ? MAX_EMAIL_BYTES : MAX_FORM_BYTES)
      const url = (yield* publicUrl.get) + request.url
      const headers = request.headers
      const req: WebhookRequest = {
        url,
        headers,
        params: isForm(headers["content-type"]) ? parseForm(rawBody.toString("utf8")) : {},
        rawBody
      }
      const id = Option.getOrUndefined(agentId)

      if (kind === "email") {
        const adapter = yield* firstVerified(
          yield* registry.webhookCandidates("email", id),
          (a: EmailAdapter) => a.verifyInbound(req)
        )
        if (Option.isNone(adapter)) return yield* reject(kind, agentId)
        const agent = yield* activeAgent(agentId)
        const decoded = yield* adapter.value.decodeInbound(req).pipe(Effect.mapError(invalid))
        const insane = sane(agent, "email", decoded.email.from, decoded.email.to)
        if (Option.isSome(insane)) return insane.value
        const outcome = yield* inbound.acceptEmail(agent, decoded)
        return HttpServerResponse.unsafeJson({ status: outcome._tag === "Accepted" ? "accepted" : "duplicate" })
      }

      const adapter = yield* firstVerified(
        yield* registry.webhookCandidates("telephony", id),
        (a: TelephonyAdapter) => a.verifyWebhook(req)
      )
      if (Option.isNone(adapter)) return yield* reject(kind, agentId)
      const agent = yield* activeAgent(agentId)
      if (kind === "sms" || kind === "whatsapp") {
        const message = yield* adapter.value.decodeMessage(req).pipe(Effect.mapError(invalid))
        if (message.channel !== kind) {
          return errorResponse(400, "invalid_webhook", `a ${message.channel} message was posted to the ${kind} webhook`)
        }
        const insane = sane(agent, message.channel, message.from, message.to)
        if (Option.isSome(insane)) return insane.value
        yield* inbound.acceptMessage(agent, message)
        return twiml
      }
      const update = yield* adapter.value.decodeStatus(req).pipe(Effect.mapError(invalid))
      if (update.kind === "message") yield* adoptPending(agent.agentId, refOf(url), update.providerId)
      yield* inbound.applyStatus(agent.agentId, update)
      return HttpServerResponse.empty({ status: 204 })
    }).pipe(
      Effect.merge,
      // a bug or the database down: 500, so that the provider retries later
      Effect.catchAllDefect((defect) =>
        Effect.as(
          Effect.logError("webhook failed").pipe(
            Effect.annotateLogs({ kind, cause: defect instanceof Error ? defect.name : "defect" })
          ),
          errorResponse(500, "internal_error", "the webhook could not be processed; retry later")
        )
      ),
      Effect.tap((response) =>
        Effect.logInfo("Sent HTTP response").pipe(
          Effect.annotateLogs({
            "http.method": request.method,
            "http.url": request.url.split("?")[0] ?? "",
            "http.status": response.status
          })
        )
      ),
      HttpMiddleware.withLoggerDisabled,
      Effect.withSpan("Webhooks.receive", { attributes: { kind } })
    )

  for (const kind of WEBHOOK_KINDS) {
    yield* router.add("POST", `/webhooks/:agentId/${kind}`, handle(kind))
  }

  /** Which agent sent the message a vendor's email event is about. */
  const senderOf = (providerMessageId: string) =>
    sql`SELECT agent_id FROM messages WHERE external_id = ${providerMessageId} AND direction = 'outbound' LIMIT 1`.pipe(
      Effect.map((rows) => Option.fromNullable(rows[0]?.["agentId"]).pipe(Option.flatMap(decodeAgentId))),
      Effect.orDie
    )

  const EMAIL_STATUS = {
    delivered: "delivered",
    bounced: "undelivered",
    dropped: "failed"
  } as const

  /** Email delivery events (account-wide): status of the message, and opt-out on complaint/unsubscribe/bounce. */
  yield* router.add("POST", "/webhooks/email-events", (request) =>
    Effect.gen(function*() {
      const rawBody = yield* readRawBody(request, MAX_FORM_BYTES)
      const req: WebhookRequest = {
        url: (yield* publicUrl.get) + request.url,
        headers: request.headers,
        params: {},
        rawBody
      }
      const adapter = yield* firstVerified(registry.adapters("email"), (a: EmailAdapter) => a.verifyEvents(req))
      if (Option.isNone(adapter)) return yield* reject("email", Option.none())
      const events = yield* adapter.value.decodeEvents(req).pipe(Effect.mapError(invalid))
      let applied = 0
      for (const event of events) {
        let agentId = yield* senderOf(event.providerMessageId)
        if (Option.isNone(agentId) && event.correlationId !== undefined) {
          agentId = yield* senderOf(PENDING_PREFIX + event.correlationId)
          if (Option.isSome(agentId)) yield* adoptPending(agentId.value, event.correlationId, event.providerMessageId)
        }
        if (Option.isNone(agentId)) continue
        applied++
        const status = event.type in EMAIL_STATUS ? EMAIL_STATUS[event.type as keyof typeof EMAIL_STATUS] : undefined
        if (status !== undefined) {
          yield* inbound.applyStatus(agentId.value, {
            provider: adapter.value.name,
            kind: "message",
            providerId: event.providerMessageId,
            status
          })
        }
        if (event.type === "complained" || event.type === "unsubscribed" || event.type === "bounced") {
          yield* compliance.optOut(agentId.value, event.recipient, "email", event.type)
        }
      }
      return HttpServerResponse.unsafeJson({ received: events.length, applied })
    }).pipe(
      Effect.merge,
      Effect.catchAllDefect(() =>
        Effect.as(
          Effect.logError("email events webhook failed"),
          errorResponse(500, "internal_error", "the webhook could not be processed; retry later")
        )
      ),
      HttpMiddleware.withLoggerDisabled,
      Effect.withSpan("Webhooks.emailEvents")
    ))
}))
