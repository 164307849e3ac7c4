/**
 * `GET /webhooks/:agentId/media-ws` — the Media Streams voice path (chosen
 * with VOICE_ORCHESTRATOR=media_streams): raw μ-law frames both ways instead
 * of ConversationRelay's text. The caller's audio goes to the Stt port; each
 * final transcript becomes the session's `prompt`; the session's streamed
 * tokens are spoken sentence by sentence through `Tts.stream` and sent back as
 * `media` frames. Speech from the caller while the agent talks is barge-in:
 * `clear` (Twilio drops the queued audio), the speech stops, and the session
 * gets an `interrupt` with what had been spoken. The same `CallSession` as
 * ConversationRelay; the same single-use token handshake.
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
import * as Stream from "effect/Stream"
import { AgentId } from "../../schema/Ids.ts"
import { PublicUrl } from "../http/PublicUrl.ts"
import { AuditLog } from "../observability/AuditLog.ts"
import { Llm } from "../providers/Llm.ts"
import { Stt } from "../providers/Stt.ts"
import { carriesProviderSignature } from "../providers/signatureHeaders.ts"
import { VoiceWebhookAuth } from "./VoiceWebhookAuth.ts"
import { Tts } from "../providers/Tts.ts"
import { clearFrame, decodeMediaMessage, mediaFrame } from "../providers/twilio/MediaStreams.ts"
import type { CallSession } from "./CallSession.ts"
import type { SessionEvent, SessionOutput } from "./SessionProtocol.ts"
import { type LiveCall, VoiceCalls } from "./VoiceCalls.ts"

const forbidden = (message: string) => HttpServerResponse.unsafeJson({ error: { code: "forbidden", message } }, { status: 403 })
const textDecoder = new TextDecoder()
const SENTENCE_END = /[.!?;:]\s*$/

export const MediaStreamRoute = HttpLayerRouter.use((router) =>
  Effect.gen(function*() {
    const voice = yield* VoiceCalls
    const voiceAuth = yield* VoiceWebhookAuth
    const publicUrl = yield* PublicUrl
    const audit = yield* AuditLog
    const llm = yield* Llm
    const stt = yield* Stt
    const tts = yield* Tts
    const decodeAgentId = Schema.decodeUnknownOption(AgentId)

    const serve = (call: LiveCall, socket: Socket.Socket) =>
      Effect.gen(function*() {
        const write = yield* socket.writer
        const frames = yield* Queue.unbounded<string>()
        const audio = yield* Queue.unbounded<Uint8Array>()
        const events = yield* Queue.unbounded<SessionEvent>()
        const sentences = yield* Queue.unbounded<string>()
        const done = yield* Deferred.make<void>()
        let streamSid = ""
        let session: CallSession | undefined
        let pending = ""
        let epoch = 0
        let speaking = false
        let spoken = ""

        const send = (out: SessionOutput): Effect.Effect<void> => {
          if (out._tag === "Text") {
            pending += out.token
            if (!out.last && !SENTENCE_END.test(pending)) return Effect.void
            const sentence = pending.trim()
            pending = ""
            return sentence === "" ? Effect.void : Queue.offer(sentences, sentence)
          }
          if (out._tag === "End") return Deferred.succeed(done, undefined)
          return Effect.void // play / sendDigits / language have no Media Streams equivalent
        }

        // the voice: one sentence at a time, dropped at once on barge-in
        const speaker = Effect.forever(Effect.gen(function*() {
          const sentence = yield* Queue.take(sentences)
          const mine = epoch
          speaking = true
          yield* tts.stream({ text: sentence, voice: call.voice }).pipe(
            Stream.takeWhile(() => epoch === mine),
            Stream.runForEach((chunk) => write(mediaFrame(streamSid, chunk)).pipe(Effect.ignore)),
            Effect.catchAll(() => Effect.logWarning("voice: speech synthesis failed mid-call"))
          )
          if (epoch === mine) spoken += (spoken === "" ? "" : " ") + sentence
          speaking = (yield* Queue.size(sentences)) > 0
        }))

        // the ears: transcripts become prompts; speech over the agent is barge-in
        const listener = stt.transcribe(Stream.fromQueue(audio)).pipe(
          Stream.runForEach((t) =>
            Effect.gen(function*() {
              if (!t.final) {
                if (!speaking) return
                epoch++
                speaking = false
                yield* Queue.takeAll(sentences)
                yield* write(clearFrame(streamSid)).pipe(Effect.ignore)
                yield* Queue.offer(events, { _tag: "Interrupt", heard: spoken })
                return
              }
              spoken = ""
              yield* Queue.offer(events, { _tag: "Prompt", text: t.text, last: true })
            })),
          Effect.catchAll(() => Effect.logWarning("voice: transcription failed"))
        )

        const handler = Effect.forever(Effect.flatMap(Queue.take(events), (e) => (session === undefined ? Effect.void : session.handle(e))))

        const consume = Effect.forever(Effect.gen(function*() {
          const message = decodeMediaMessage(yield* Queue.take(frames))
          if (Option.isNone(message)) return
          const m = message.value
          switch (m.event) {
            case "start": {
              if (session !== undefined) return
              streamSid = m.start.streamSid
              const started = yield* voice.startSession(call, send).pipe(Effect.provideService(Llm, llm))
              session = started
              yield* Effect.forkScoped(Effect.zipRight(Deferred.await(started.ended), Deferred.succeed(done, undefined)))
              return
            }
            case "media":
              if (session !== undefined) yield* Queue.offer(audio, new Uint8Array(Buffer.from(m.media.payload, "base64")))
              return
            case "dtmf":
              yield* Queue.offer(events, { _tag: "Dtmf", digit: m.dtmf.digit })
              return
            case "stop":
              yield* Deferred.succeed(done, undefined)
              return
            default:
              return
          }
        }))

        yield* Effect.forkScoped(consume)
        yield* Effect.forkScoped(handler)
        yield* Effect.forkScoped(speaker)
        yield* Effect.forkScoped(listener)
        yield* Effect.raceFirst(
          socket.runRaw((data) => {
            Queue.unsafeOffer(frames, typeof data === "string" ? data : textDecoder.decode(data))
          }).pipe(Effect.catchAll(() => Effect.void)),
          Effect.zipRight(Deferred.await(done), write(new Socket.CloseEvent(1000, "session ended")).pipe(Effect.ignore))
        )
      }).pipe(Effect.scoped, Effect.ensuring(voice.finish(call.callId, { status: "completed" })))

    const handle = (request: HttpServerRequest.HttpServerRequest) =>
      Effect.gen(function*() {
        const agentId = decodeAgentId((yield* HttpLayerRouter.params)["agentId"])
        if (Option.isNone(agentId)) return forbidden("no such agent")
        const url = (yield* publicUrl.get).replace(/^http/, "ws") + request.url
        const refuse = (reason: string) =>
          Effect.as(
            audit.append({ eventType: "webhook_rejected", actor: "webhook", target: agentId.value, details: { kind: "media-ws", reason } }),
            forbidden("the voice session could not be authenticated")
          )
        if (carriesProviderSignature(request.headers) &&
          Option.isNone(yield* voiceAuth.verify(agentId.value, { url, headers: request.headers, params: {}, rawBody: new Uint8Array() }))) {
          return yield* refuse("signature")
        }
        const token = new URL(request.url, "http://localhost").searchParams.get("token") ?? undefined
        const claimed = yield* voice.claimToken(agentId.value, token)
        if (Either.isLeft(claimed)) return yield* refuse(claimed.left)
        const socket = yield* request.upgrade.pipe(Effect.orDie)
        yield* serve(claimed.right, socket)
        return HttpServerResponse.empty()
      }).pipe(Effect.withSpan("MediaStreamSocket.session"))

    yield* router.add("GET", "/webhooks/:agentId/media-ws", handle)
  })
)
