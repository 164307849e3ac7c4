/**
 * The sandbox carrier's phone calls. Placing a call fetches the caller's
 * TwiML from our own voice webhook (signed like Twilio), and:
 * - a call to one of our agents posts that agent's inbound voice webhook too,
 *   opens both ConversationRelay WebSockets to our own `voice-ws` and bridges
 *   them: what one agent says (its streamed tokens up to `last`) becomes the
 *   other's `prompt`, SANDBOX_CALL_TURNS times each way, then hangs up;
 * - a call to anyone else reaches a simulated person who says two lines;
 * - `<Play>` (voice messages) fetches the audio and checks it is a WAV file.
 * Progress goes to the status callbacks (ringing, in-progress, completed with
 * its duration), and everything a person would have received is recorded in
 * `sandbox_outbox` (channel "voice").
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import WebSocket from "ws"
import { PublicUrl } from "../../http/PublicUrl.ts"
import { readWav } from "../../voice/Audio.ts"
import * as Config from "effect/Config"
import { decodeRelayOutbound, relay } from "../twilio/ConversationRelay.ts"
import { ProviderError } from "../ProviderError.ts"
import type { CallUpdate, Telephony } from "../Telephony.ts"
import { SandboxCarrier, sid } from "./SandboxCarrier.ts"
import { readTwiml, type SandboxVerb } from "./SandboxTwiml.ts"

const ACCOUNT_SID = "AC" + "0".repeat(32)
const UTTERANCE_TIMEOUT = "30 seconds"

/** What one relay socket said: a whole utterance, or the end of its session. */
type Heard = { readonly _tag: "Said"; readonly text: string } | { readonly _tag: "Ended"; readonly handoffData: string | undefined }

interface RelayLeg {
  readonly send: (frame: string) => Effect.Effect<void>
  /** The next whole utterance (tokens up to `last: true`), or the end. */
  readonly next: Effect.Effect<Heard>
  readonly close: Effect.Effect<void>
}

interface LiveBridge {
  readonly hangUp: Effect.Effect<void>
}

export class SandboxCalls extends Effect.Service<SandboxCalls>()("app/providers/sandbox/SandboxCalls", {
  scoped: Effect.gen(function*() {
    const carrier = yield* SandboxCarrier
    const publicUrl = yield* PublicUrl
    // exchanges each way of a simulated agent-to-agent call before the carrier hangs up
    const callTurns = yield* Config.integer("SANDBOX_CALL_TURNS").pipe(
      Config.validate({ message: "expected an integer >= 1", validation: (n) => n >= 1 }),
      Config.withDefault(4),
      Effect.orDie
    )
    const sql = yield* SqlClient.SqlClient
    const http = yield* HttpClient.HttpClient
    const fibers = yield* FiberSet.make()
    const live = new Map<string, LiveBridge>()

    /** A form post signed as Twilio signs it; the answer's text (TwiML). */
    const postSigned = (url: string, params: Record<string, string>) =>
      http.execute(
        HttpClientRequest.post(url).pipe(
          HttpClientRequest.setHeader("X-Twilio-Signature", carrier.sign(url, params)),
          HttpClientRequest.bodyUrlParams(params)
        )
      ).pipe(
        Effect.flatMap((res) => Effect.map(res.text, (text) => ({ status: res.status, text }))),
        Effect.timeout("30 seconds")
      )

    const status = (url: string, params: Record<string, string>, callStatus: string, duration?: number) =>
      postSigned(url, {
        ...params,
        AccountSid: ACCOUNT_SID,
        CallStatus: callStatus,
        ...(duration !== undefined ? { CallDuration: String(duration) } : {})
      }).pipe(Effect.catchAll(() => Effect.logWarning("sandbox call status not accepted").pipe(Effect.annotateLogs({ callStatus }))))

    const outbox = (callSid: string, suffix: string, from: string, to: string, body: string, media: ReadonlyArray<{ url: string; contentType: string }> = []) =>
      sql`INSERT INTO sandbox_outbox ${
        sql.insert({
          providerMessageId: `${callSid}:${suffix}`,
          channel: "voice",
          fromAddress: from,
          toAddress: to,
          subject: null,
          body,
          media: JSON.stringify(media),
          bcc: null
        })
      } ON CONFLICT (provider_message_id) DO NOTHING`.pipe(Effect.asVoid, Effect.orDie)

    /** Opens a relay WebSocket as Twilio does: handshake signed, then `setup`. */
    const openLeg = (url: string, setup: string): Effect.Effect<RelayLeg, ProviderError, Scope.Scope> =>
      Effect.gen(function*() {
        const heard = yield* Queue.unbounded<Heard>()
        const ws = yield* Effect.acquireRelease(
          Effect.async<WebSocket, ProviderError>((resume) => {
            const socket = new WebSocket(url, { headers: { "x-twilio-signature": carrier.sign(url, {}) } })
            let tokens = ""
            socket.on("message", (data, isBinary) => {
              if (isBinary) return
              const msg = decodeRelayOutbound(data.toString())
              if (Option.isNone(msg)) return
              const m = msg.value
              if (m.type === "text") {
                tokens += m.token
                if (m.last) {
                  Queue.unsafeOffer(heard, { _tag: "Said", text: tokens.trim() })
                  tokens = ""
                }
              } else if (m.type === "end") {
                Queue.unsafeOffer(heard, { _tag: "Ended", handoffData: m.handoffData })
              }
            })
            socket.on("close", () => Queue.unsafeOffer(heard, { _tag: "Ended", handoffData: undefined }))
            socket.once("open", () => resume(Effect.succeed(socket)))
            socket.once("unexpected-response", (_req, res) =>
              resume(Effect.fail(new ProviderError({ provider: "sandbox", operation: "voice-ws", reason: `handshake refused (${res.statusCode})` }))))
            socket.once("error", (e) => resume(Effect.fail(new ProviderError({ provider: "sandbox", operation: "voice-ws", reason: "connect failed", cause: e }))))
          }),
          (socket) => Effect.sync(() => socket.close(1000))
        )
        ws.send(setup)
        return {
          send: (frame) => Effect.sync(() => ws.readyState === WebSocket.OPEN && ws.send(frame)),
          next: Queue.take(heard).pipe(
            Effect.timeoutTo({ duration: UTTERANCE_TIMEOUT, onTimeout: (): Heard => ({ _tag: "Ended", handoffData: undefined }), onSuccess: (h) => h })
          ),
          close: Effect.sync(() => ws.close(1000))
        } satisfies RelayLeg
      })

    /** A leg ended with `end`: ask its action URL what to do (a transfer's `<Dial>`) and record it. */
    const followAction = (callSid: string, verb: Extract<SandboxVerb, { _tag: "Relay" }>, handoffData: string | undefined, from: string, to: string) =>
      Effect.gen(function*() {
        if (verb.action === undefined) return
        const answer = yield* postSigned(verb.action, {
          CallSid: callSid,
          AccountSid: ACCOUNT_SID,
          From: from,
          To: to,
          CallStatus: "in-progress",
          SessionStatus: "ended",
          ...(handoffData !== undefined ? { HandoffData: handoffData } : {})
        })
        const next = readTwiml(answer.text)
        if (next._tag === "Dial") {
          yield* outbox(callSid, "transfer", from, next.to, `call transferred${next.announcement !== undefined ? ` after: ${next.announcement}` : ""}`)
        }
      }).pipe(Effect.catchAll(() => Effect.logWarning("sandbox: connect action not answered")))

    /** Speaks alternately for both legs until the turns are done or one side ends. */
    const converse = (a: RelayLeg, b: RelayLeg, firstLine: string) =>
      Effect.gen(function*() {
        let line = firstLine
        for (let i = 0; i < callTurns; i++) {
          yield* a.send(relay.prompt(line))
          const fromA = yield* a.next
          if (fromA._tag === "Ended") return { side: "a" as const, handoffData: fromA.handoffData }
          yield* b.send(relay.prompt(fromA.text))
          const fromB = yield* b.next
          if (fromB._tag === "Ended") return { side: "b" as const, handoffData: fromB.handoffData }
          line = fromB.text
        }
        return { side: "none" as const, handoffData: undefined }
      })

    type PlaceCall = Parameters<Telephony["Type"]["placeCall"]>[0]

    const run = (req: PlaceCall, callSid: string) =>
      Effect.gen(function*() {
        const leg = { CallSid: callSid, From: req.from, To: req.to, Direction: "outbound-api" }
        yield* status(req.statusCallbackUrl, leg, "ringing")
        const started = Date.now()
        const seconds = () => Math.max(1, Math.ceil((Date.now() - started) / 1000))
        const answered = yield* postSigned(req.url, { ...leg, AccountSid: ACCOUNT_SID, CallStatus: "in-progress" })
        if (answered.status !== 200) {
          yield* status(req.statusCallbackUrl, leg, "failed")
          return
        }
        const verb = readTwiml(answered.text)
        const owner = yield* carrier.ownerOf(req.to)
        yield* status(req.statusCallbackUrl, leg, "in-progress")

        if (verb._tag === "Play") {
          const audio = yield* http.get(verb.url).pipe(Effect.flatMap((r) => Effect.map(r.arrayBuffer, (b) => ({ status: r.status, bytes: new Uint8Array(b) }))))
          const info = audio.status === 200 ? Option.some(readWav(audio.bytes)) : Option.none()
          yield* outbox(callSid, "play", req.from, req.to, Option.match(info, {
            onNone: () => "voice message could not be fetched",
            onSome: (i) => `voice message played (${i.durationSeconds.toFixed(2)} s)`
          }), [{ url: verb.url, contentType: "audio/wav" }])
          const duration = Option.match(info, { onNone: () => 1, onSome: (i) => Math.max(1, Math.ceil(i.durationSeconds)) })
          yield* status(req.statusCallbackUrl, leg, Option.isSome(info) ? "completed" : "failed", duration)
          return
        }
        if (verb._tag !== "Relay") {
          yield* status(req.statusCallbackUrl, leg, "completed", seconds())
          return
        }

        yield* Effect.scoped(Effect.gen(function*() {
          const a = yield* openLeg(verb.url, relay.setup({ callSid, from: req.from, to: req.to, direction: "outbound-api" }))
          if (Option.isNone(owner)) {
            // a simulated person: two lines, then they hang up
            const bridge = yield* converse(a, { send: () => Effect.void, next: Effect.succeed({ _tag: "Said", text: "Thanks, goodbye." }), close: Effect.void }, "Hello?")
            if (bridge.side === "a") yield* followAction(callSid, verb, bridge.handoffData, req.from, req.to)
            yield* outbox(callSid, "call", req.from, req.to, "call with a simulated person")
            return
          }
          // one of our agents: its own inbound call, on its own CallSid
          const calleeSid = sid("CA")
          const calleeId = owner.value
          const inbound = { CallSid: calleeSid, From: req.from, To: req.to, Direction: "inbound" }
          const calleeUrl = yield* publicUrl.webhook(calleeId, "voice")
          const calleeStatusUrl = yield* publicUrl.webhook(calleeId, "voice-status")
          const calleeAnswer = yield* postSigned(calleeUrl, { ...inbound, AccountSid: ACCOUNT_SID, CallStatus: "ringing" })
          const calleeVerb = readTwiml(calleeAnswer.text)
          if (calleeVerb._tag !== "Relay") {
            // refused politely (suspended, spending cap): the caller hears it and the call ends
            if (calleeVerb._tag === "Say") yield* a.send(relay.prompt(calleeVerb.text))
            yield* a.next
            return
          }
          const b = yield* openLeg(calleeVerb.url, relay.setup({ callSid: calleeSid, from: req.from, to: req.to, direction: "inbound" }))
          live.set(callSid, { hangUp: Effect.zipRight(a.close, b.close) })
          const bridge = yield* converse(a, b, calleeVerb.greeting)
          if (bridge.side === "a") yield* followAction(callSid, verb, bridge.handoffData, req.from, req.to)
          if (bridge.side === "b") yield* followAction(calleeSid, calleeVerb, bridge.handoffData, req.from, req.to)
          yield* Effect.zipRight(a.close, b.close)
          yield* status(calleeStatusUrl, inbound, "completed", seconds())
        })).pipe(Effect.ensuring(Effect.sync(() => live.delete(callSid))))
        yield* status(req.statusCallbackUrl, leg, "completed", seconds())
      }).pipe(
        Effect.catchAllCause((cause) =>
          Effect.zipRight(
            Effect.logWarning("sandbox call failed", cause),
            status(req.statusCallbackUrl, { CallSid: callSid, From: req.from, To: req.to, Direction: "outbound-api" }, "failed")
          ))
      )

    const placeCall = (req: PlaceCall) =>
      Effect.gen(function*() {
        const callSid = sid("CA")
        yield* FiberSet.run(fibers, run(req, callSid))
        return { callSid }
      })

    const updateCall = (req: { readonly callSid: string; readonly update: CallUpdate }) =>
      Effect.gen(function*() {
        const bridge = live.get(req.callSid)
        if (bridge === undefined) {
          return yield* new ProviderError({ provider: "sandbox", operation: "update call", reason: "no such live call" })
        }
        if (req.update._tag === "Redirect") {
          const verb = readTwiml(req.update.instruction.body)
          if (verb._tag === "Dial") yield* outbox(req.callSid, "transfer", "", verb.to, "call transferred")
        }
        yield* bridge.hangUp
      })

    return { placeCall, updateCall } as const
  })
}) {}
