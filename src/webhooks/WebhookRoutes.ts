/**
 * Inbound webhooks: `POST /webhooks/:agentId/<kind>` for `sms`, `whatsapp`,
 * `email`, `message-status` and `call-status`.
 *
 * Every request goes through the same steps, in this order:
 * 1. size cap on the raw body (1 MiB for form posts, 10 MiB for email) → 413
 * 2. the provider port verifies it over the exact bytes and the public URL the
 *    provider called (`PublicUrl` base + path + query) → 403, a
 *    `webhook_rejected` audit event and a security log line; nothing else runs
 * 3. the agent must be active → 404
 * 4. the provider port decodes it → 400 `invalid_webhook`
 * 5. `Inbound` records it (a duplicate provider message id is acknowledged
 *    and not processed again) and queues the orchestrator callback
 * 6. the provider's expected answer: TwiML for messages, 200 JSON for email,
 *    204 for status callbacks.
 *
 * The routes know no vendor: verification and decoding are the provider
 * ports' (`Telephony`, `EmailProvider`). A body is never logged or echoed.
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
import { EmailProvider } from "../providers/EmailProvider.ts"
import { Telephony } from "../providers/Telephony.ts"
import { parseForm } from "./parse.ts"

export type WebhookKind = "sms" | "whatsapp" | "email" | "message-status" | "call-status"

export const WEBHOOK_KINDS: ReadonlyArray<WebhookKind> = ["sms", "whatsapp", "email", "message-status", "call-status"]

/** Largest form post accepted (Twilio's are a few KiB). */
export const MAX_FORM_BYTES = 1024 * 1024
/** Largest inbound email accepted. */
export const MAX_EMAIL_BYTES = 10 * 1024 * 1024

const errorResponse = (status: number, code: string, message: string) =>
  HttpServerResponse.unsafeJson({ error: { code, message } }, { status })

/** The empty TwiML answer: "received, nothing to reply". */
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

/** Adds the webhook routes to the router. */
export const WebhookRoutes = Layer.scopedDiscard(Effect.gen(function*() {
  const router = yield* HttpLayerRouter.HttpRouter
  const telephony = yield* Telephony
  const email = yield* EmailProvider
  const agents = yield* AgentsRepo
  const inbound = yield* Inbound
  const audit = yield* AuditLog
  const publicUrl = yield* PublicUrl
  const decodeAgentId = Schema.decodeUnknownOption(AgentId)

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

      if (kind === "email") {
        if (!email.verifyInbound({ url, headers })) return yield* reject(kind, agentId)
        const agent = yield* activeAgent(agentId)
        const decoded = yield* email.decodeInbound(rawBody, headers["content-type"] ?? "").pipe(
          Effect.mapError(invalid)
        )
        const outcome = yield* inbound.acceptEmail(agent, decoded)
        return HttpServerResponse.unsafeJson({ status: outcome._tag === "Accepted" ? "accepted" : "duplicate" })
      }

      const params = parseForm(rawBody.toString("utf8"))
      if (!telephony.verifyWebhook({ url, headers, params, rawBody })) return yield* reject(kind, agentId)
      const agent = yield* activeAgent(agentId)
      if (kind === "sms" || kind === "whatsapp") {
        const message = yield* telephony.decodeMessage(params).pipe(Effect.mapError(invalid))
        if (message.channel !== kind) {
          return errorResponse(400, "invalid_webhook", `a ${message.channel} message was posted to the ${kind} webhook`)
        }
        yield* inbound.acceptMessage(agent, message)
        return twiml
      }
      const update = yield* telephony.decodeStatus(params).pipe(Effect.mapError(invalid))
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
}))
