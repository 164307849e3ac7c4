/**
 * Voice webhooks, each verified by the telephony port over the exact request:
 * - `POST /webhooks/:agentId/voice` — a call is answered: the orchestrator's
 *   instruction (TwiML `<Connect><ConversationRelay>`, a polite spoken refusal,
 *   or `<Play>` for a voice message);
 * - `POST /webhooks/:agentId/voice-status` — call progress → call_logs, settle;
 * - `POST /webhooks/:agentId/voice-action` — the relay session ended: `<Dial>`
 *   for a transfer, else hang up;
 * - `POST /webhooks/:agentId/voice-recording` — a recording is ready;
 * - `GET /media/<key>?exp&sig` — stored audio behind a signed, expiring URL.
 */
import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { AgentId } from "../../schema/Ids.ts"
import { PublicUrl } from "../http/PublicUrl.ts"
import { readCappedBody } from "../http/readCappedBody.ts"
import { AuditLog } from "../observability/AuditLog.ts"
import { Storage } from "../providers/Storage.ts"
import { VoiceWebhookAuth } from "./VoiceWebhookAuth.ts"
import type { Instruction } from "../providers/VoiceInstructions.ts"
import { parseForm } from "../webhooks/parse.ts"
import { MediaUrls } from "./MediaUrls.ts"
import { VoiceCalls } from "./VoiceCalls.ts"
import { VoiceMessages } from "./VoiceMessages.ts"
import { MediaStreamRoute } from "./MediaStreamSocket.ts"
import { VoiceSocketRoute } from "./VoiceSocket.ts"

const MAX_FORM_BYTES = 64 * 1024
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

const errorResponse = (status: number, code: string, message: string) =>
  HttpServerResponse.unsafeJson({ error: { code, message } }, { status })

const respond = (i: Instruction) => HttpServerResponse.text(i.body, { contentType: i.contentType })

type Kind = "voice" | "voice-status" | "voice-action" | "voice-recording"

const first = (v: string | ReadonlyArray<string> | undefined): string | undefined => (typeof v === "string" ? v : v?.[0])

const VoiceWebhooks = HttpLayerRouter.use((router) =>
  Effect.gen(function*() {
    const voice = yield* VoiceCalls
    const messages = yield* VoiceMessages
    const voiceAuth = yield* VoiceWebhookAuth
    const publicUrl = yield* PublicUrl
    const audit = yield* AuditLog
    const decodeAgentId = Schema.decodeUnknownOption(AgentId)

    const handle = (kind: Kind) => (request: HttpServerRequest.HttpServerRequest) =>
      Effect.gen(function*() {
        const agentId = decodeAgentId((yield* HttpLayerRouter.params)["agentId"])
        const raw = yield* readCappedBody(request, MAX_FORM_BYTES).pipe(
          Effect.mapError(() => errorResponse(413, "payload_too_large", "the request body is too large or unreadable"))
        )
        const url = (yield* publicUrl.get) + request.url
        const params = parseForm(raw.toString("utf8"))
        const webhook = { url, headers: request.headers, params, rawBody: raw }
        const verified = yield* voiceAuth.verify(Option.getOrUndefined(agentId), webhook)
        if (Option.isNone(verified)) {
          yield* audit.append({
            eventType: "webhook_rejected",
            actor: "webhook",
            target: Option.getOrUndefined(agentId),
            details: { kind, reason: "signature" }
          })
          return errorResponse(403, "forbidden", "the webhook signature is missing or invalid")
        }
        if (Option.isNone(agentId)) return errorResponse(404, "not_found", "no such agent")
        const query = new URL(request.url, "http://localhost").searchParams
        const callId = query.get("callId") ?? undefined
        const messageId = query.get("message") ?? undefined
        if (messageId !== undefined && !UUID.test(messageId)) return errorResponse(400, "invalid_webhook", "bad message id")
        const callSid = first(params["CallSid"]) ?? ""
        switch (kind) {
          case "voice": {
            if (messageId !== undefined) {
              return Option.match(messages.instruction(agentId.value, messageId), {
                onNone: () => errorResponse(404, "not_found", "no such voice message"),
                onSome: respond
              })
            }
            if (callSid === "") return errorResponse(400, "invalid_webhook", "CallSid is missing")
            return respond(yield* voice.answer(agentId.value, callId, {
              callSid,
              from: first(params["From"]) ?? "",
              to: first(params["To"]) ?? ""
            }))
          }
          case "voice-status": {
            const update = yield* verified.value.decodeStatus(webhook).pipe(
              Effect.mapError((e) => errorResponse(400, "invalid_webhook", e.message))
            )
            if (update.kind !== "call") return errorResponse(400, "invalid_webhook", "not a call status")
            if (messageId !== undefined) yield* messages.applyStatus(agentId.value, messageId, update.status)
            else yield* voice.applyStatus(agentId.value, callId, { callSid: update.providerId, status: update.status, durationSeconds: update.durationSeconds })
            return HttpServerResponse.empty({ status: 204 })
          }
          case "voice-action":
            return respond(yield* voice.action(agentId.value, callId))
          case "voice-recording": {
            const recordingUrl = first(params["RecordingUrl"])
            if (recordingUrl !== undefined) yield* voice.recording(agentId.value, callId, recordingUrl)
            return HttpServerResponse.empty({ status: 204 })
          }
        }
      }).pipe(
        Effect.merge,
        Effect.catchAllDefect(() =>
          Effect.as(Effect.logError("voice webhook failed").pipe(Effect.annotateLogs({ kind })), errorResponse(500, "internal_error", "retry later"))
        ),
        HttpMiddleware.withLoggerDisabled,
        Effect.withSpan("VoiceWebhooks.receive", { attributes: { kind } })
      )

    for (const kind of ["voice", "voice-status", "voice-action", "voice-recording"] as const) {
      yield* router.add("POST", `/webhooks/:agentId/${kind}`, handle(kind))
    }
  })
)

const MediaRoute = HttpLayerRouter.use((router) =>
  Effect.gen(function*() {
    const storage = yield* Storage
    const urls = yield* MediaUrls
    yield* router.add("GET", "/media/*", (request) =>
      Effect.gen(function*() {
        const u = new URL(request.url, "http://localhost")
        const key = decodeURIComponent(u.pathname.slice("/media/".length))
        const ok = yield* urls.verify(key, u.searchParams.get("exp") ?? undefined, u.searchParams.get("sig") ?? undefined)
        if (!ok) return errorResponse(403, "forbidden", "the media URL is invalid or has expired")
        const object = yield* storage.get(key).pipe(Effect.orElseSucceed(() => Option.none()))
        return Option.match(object, {
          onNone: () => errorResponse(404, "not_found", "no such media"),
          onSome: (o) =>
            HttpServerResponse.uint8Array(o.bytes, {
              contentType: o.contentType,
              headers: { "cache-control": "private, max-age=300" }
            })
        })
      }).pipe(HttpMiddleware.withLoggerDisabled))
  })
)

/** Every voice route (webhooks, the voice WebSocket, signed media). */
export const VoiceRoutes = Layer.mergeAll(VoiceWebhooks, VoiceSocketRoute, MediaStreamRoute, MediaRoute)
