/**
 * One live call's conversation at the text level, shared by both voice
 * orchestrators (ConversationRelay and Media Streams).
 *
 * Conversation = the agent's system prompt + the call's context + the turns.
 * A final `Prompt` starts a generation fiber that streams the model's tokens
 * straight to the socket (`send`), each as it arrives — tokens never pass
 * through the agent's mailbox. `Interrupt` interrupts that fiber and waits
 * for it, so no token is sent after the interrupt has been handled; the
 * agent's turn keeps only what the caller actually heard. The next prompt
 * starts clean. The duration cap ends the call with `End`.
 */
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { type ConversationTurn, Llm } from "../providers/Llm.ts"
import type { SessionEvent, SessionOutput } from "./SessionProtocol.ts"

export type EndReason = "max_duration" | "transfer" | "hangup" | "agent_end"

export interface SessionSpec {
  readonly agentId: string
  readonly callId: string
  readonly systemPrompt: string
  readonly context: string
  readonly language: string
  readonly maxDuration: Duration.DurationInput
  /** Spoken by the orchestrator when the call connects; it is the agent's first turn. */
  readonly greeting?: string | undefined
}

/** What the agent could not say because the model failed (never the error itself). */
export const FALLBACK_REPLY = "Sorry, I cannot answer that right now."

interface Generation {
  streamed: string
  done: boolean
  fiber: Fiber.RuntimeFiber<void> | undefined
}

export interface CallSession {
  /** Handles one event from the caller side; events must be handled one at a time. */
  readonly handle: (event: SessionEvent) => Effect.Effect<void>
  /** Ends the call (transfer, hang-up by the agent): stops any generation and sends `End`. */
  readonly end: (reason: EndReason, handoffData?: string) => Effect.Effect<void>
  readonly play: (source: string) => Effect.Effect<void>
  readonly sendDigits: (digits: string) => Effect.Effect<void>
  /** Resolves when the session ended by our side (cap, transfer), with the reason. */
  readonly ended: Deferred.Deferred<EndReason>
  /** The conversation so far (copy). */
  readonly turns: Effect.Effect<ReadonlyArray<ConversationTurn>>
  readonly generating: Effect.Effect<boolean>
}

export const make = (
  spec: SessionSpec,
  send: (out: SessionOutput) => Effect.Effect<void>
): Effect.Effect<CallSession, never, Llm | Scope.Scope> =>
  Effect.gen(function*() {
    const llm = yield* Llm
    const ended = yield* Deferred.make<EndReason>()
    const scope = yield* Effect.scope
    const turns: Array<ConversationTurn> = []
    if (spec.greeting !== undefined && spec.greeting.trim() !== "") turns.push({ role: "agent", text: spec.greeting })
    let current: Generation | undefined
    let language = spec.language
    let partial = ""

    const generate = (gen: Generation) =>
      Effect.gen(function*() {
        const request = { agentId: spec.agentId, callId: spec.callId, systemPrompt: spec.systemPrompt, context: spec.context, turns: [...turns] }
        const outcome = yield* llm.reply(request).pipe(
          Stream.runForEach((token) =>
            Effect.suspend(() => {
              gen.streamed += token
              return send({ _tag: "Text", token, last: false })
            })
          ),
          Effect.either
        )
        yield* Effect.uninterruptible(Effect.gen(function*() {
          if (outcome._tag === "Left") {
            yield* Effect.logWarning("voice: the model failed mid-turn").pipe(
              Effect.annotateLogs({ agentId: spec.agentId, provider: llm.provider, reason: outcome.left.reason })
            )
            const tail = gen.streamed === "" ? FALLBACK_REPLY : ""
            gen.streamed += tail
            yield* send({ _tag: "Text", token: tail, last: true })
          } else {
            yield* send({ _tag: "Text", token: "", last: true })
          }
          turns.push({ role: "agent", text: gen.streamed.trim() })
          gen.done = true
        }))
      })

    /** Stops the running generation; keeps what was heard (or streamed) as the agent's turn. */
    const stop = (heard: string | undefined) =>
      Effect.gen(function*() {
        const gen = current
        current = undefined
        if (gen === undefined || gen.fiber === undefined) return
        yield* Fiber.interrupt(gen.fiber)
        if (gen.done) {
          // it had finished: replace the full answer by what the caller heard of it
          if (heard !== undefined && turns[turns.length - 1]?.role === "agent") {
            turns[turns.length - 1] = { role: "agent", text: heard.trim() }
          }
          return
        }
        const kept = (heard ?? gen.streamed).trim()
        if (kept !== "") turns.push({ role: "agent", text: kept })
      })

    const start = (text: string) =>
      Effect.gen(function*() {
        yield* stop(undefined)
        turns.push({ role: "caller", text })
        const gen: Generation = { streamed: "", done: false, fiber: undefined }
        current = gen
        gen.fiber = yield* Effect.forkIn(generate(gen), scope)
      })

    const end = (reason: EndReason, handoffData?: string) =>
      Effect.gen(function*() {
        if (yield* Deferred.isDone(ended)) return
        yield* stop(undefined)
        yield* send({ _tag: "End", handoffData: handoffData ?? JSON.stringify({ reason }) })
        yield* Deferred.succeed(ended, reason)
      })

    yield* Effect.forkScoped(Effect.delay(end("max_duration"), spec.maxDuration))

    const handle = (event: SessionEvent): Effect.Effect<void> => {
      switch (event._tag) {
        case "Setup":
          return Effect.void
        case "Prompt": {
          if (!event.last) {
            partial += event.text
            return Effect.void
          }
          const text = (partial + event.text).trim()
          partial = ""
          const switchLanguage = event.lang !== undefined && event.lang !== language
            ? Effect.suspend(() => {
              language = event.lang ?? language
              return send({ _tag: "Language", language })
            })
            : Effect.void
          return text === "" ? Effect.void : Effect.zipRight(switchLanguage, start(text))
        }
        case "Interrupt":
          return stop(event.heard)
        case "Dtmf":
          return start(`(the caller pressed ${event.digit})`)
        case "Error":
          return Effect.logWarning("voice: orchestrator reported an error").pipe(
            Effect.annotateLogs({ agentId: spec.agentId, callId: spec.callId })
          )
      }
    }

    return {
      handle,
      end,
      play: (source) => send({ _tag: "Play", source }),
      sendDigits: (digits) => send({ _tag: "SendDigits", digits }),
      ended,
      turns: Effect.sync(() => [...turns]),
      generating: Effect.sync(() => Option.isSome(Option.fromNullable(current)) && current?.done === false)
    } satisfies CallSession
  })
