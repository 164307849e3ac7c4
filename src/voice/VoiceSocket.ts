/**
 * `GET /webhooks/:agentId/voice-ws` — the ConversationRelay WebSocket, on the
 * same HTTP server (the platform's Node server hands upgrade requests to the
 * router; `request.upgrade` completes the handshake with `ws`).
 *
 * Before anything is upgraded: the provider's signature when the handshake
 * carries one (`X-Twilio-Signature` over the wss URL), and the single-use
 * token of the call (`?token=`), bound to this agent and this call. A socket
 * for another agent, a replayed or forged token: 403, audited, no `setup`
 * ever read. Then frames are handled one at a time by the call's session;
 * the session's output is written straight to the socket.
 */
import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Socket from "@effect/platform/Socket"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import { AgentId } from "../../schema/Ids.ts"
import { PublicUrl } from "../http/PublicUrl.ts"
import { AuditLog } from "../observability/AuditLog.ts"
import { Llm } from "../providers/Llm.ts"
import { carriesProviderSignature } from "../providers/signatureHeaders.ts"
import { VoiceWebhookAuth } from "./VoiceWebhookAuth.ts"
import { decodeRelayMessage, encodeRelayMessage } from "../providers/twilio/ConversationRelay.ts"
import type { CallSession } from "./CallSession.ts"
import { type LiveCall, VoiceCalls } from "./VoiceCalls.ts"

const forbidden = (message: string) => HttpServerResponse.unsafeJson({ error: { code: "forbidden", message } }, { status: 403 })
const textDecoder = new TextDecoder()

export const VoiceSocketRoute = HttpLayerRouter.use((router) =>
    Effect.gen(function*() {
      const voice = yield* VoiceCalls
      const voiceAuth = yield* VoiceWebhookAuth
      const publicUrl = yield* PublicUrl
      const audit = yield* AuditLog
      const llm = yield* Llm
      const decodeAgentId = Schema.decodeUnknownOption(AgentId)

      /** Runs one connected call over its socket until either side ends it. */
      const serve = (call: LiveCall, socket: Socket.Socket) =>
        Effect.gen(function*() {
          const write = yield* socket.writer
          const inbox = yield* Queue.unbounded<string>()
          const done = yield* Deferred.make<void>()
          let session: CallSession | undefined
          const send = (out: Parameters<typeof encodeRelayMessage>[0]) =>
            write(encodeRelayMessage(out)).pipe(Effect.catchAll(() => Effect.void))

          const consume = Effect.forever(Effect.gen(function*() {
            const frame = yield* Queue.take(inbox)
            const event = decodeRelayMessage(frame)
            if (Option.isNone(event)) return
            if (session === undefined) {
              // nothing before `setup`
              if (event.value._tag !== "Setup") return
              const started = yield* voice.startSession(call, send).pipe(Effect.provideService(Llm, llm))
              session = started
              yield* Effect.forkScoped(Effect.zipRight(Deferred.await(started.ended), Deferred.succeed(done, undefined)))
              return
            }
            yield* session.handle(event.value)
          }))
          yield* Effect.forkScoped(consume)
          yield* Effect.raceFirst(
            socket.runRaw((data) => {
              Queue.unsafeOffer(inbox, typeof data === "string" ? data : textDecoder.decode(data))
            }).pipe(Effect.catchAll(() => Effect.void)),
            Effect.zipRight(Deferred.await(done), write(new Socket.CloseEvent(1000, "session ended")).pipe(Effect.ignore))
          )
        }).pipe(
          Effect.scoped,
          Effect.ensuring(voice.finish(call.callId, { status: "completed" }))
        )

      const handler = (request: HttpServerRequest.HttpServerRequest) =>
        Effect.gen(function*() {
          const agentId = decodeAgentId((yield* HttpLayerRouter.params)["agentId"])
          if (Option.isNone(agentId)) return forbidden("no such agent")
          const base = yield* publicUrl.get
          const url = base.replace(/^http/, "ws") + request.url
          const refuse = (reason: string) =>
            Effect.gen(function*() {
              yield* audit.append({ eventType: "webhook_rejected", actor: "webhook", target: agentId.value, details: { kind: "voice-ws", reason } })
              yield* Effect.logWarning("voice-ws handshake refused").pipe(
                Effect.annotateLogs({ agentId: agentId.value, reason, securityEvent: "webhook_rejected" })
              )
              return forbidden("the voice session could not be authenticated")
            })
          if (carriesProviderSignature(request.headers) && Option.isNone(yield* voiceAuth.verify(agentId.value, { url, headers: request.headers, params: {}, rawBody: new Uint8Array() }))) {
            return yield* refuse("signature")
          }
          const token = new URL(request.url, "http://localhost").searchParams.get("token") ?? undefined
          const claimed = yield* voice.claimToken(agentId.value, token)
          if (Either.isLeft(claimed)) return yield* refuse(claimed.left)
          const socket = yield* request.upgrade.pipe(Effect.orDie)
          yield* serve(claimed.right, socket)
          return HttpServerResponse.empty()
        }).pipe(Effect.withSpan("VoiceSocket.session"))

      yield* router.add("GET", "/webhooks/:agentId/voice-ws", handler)
    })
)
