/**
 * The text-level session on its own: what the model is asked (system prompt,
 * call context, turns), the partial answer the caller heard kept after an
 * interrupt, a failing model answered with a fallback, DTMF and language.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { Llm, type LlmRequest } from "../../src/providers/Llm.ts"
import { ProviderError } from "../../src/providers/ProviderError.ts"
import * as CallSession from "../../src/voice/CallSession.ts"
import type { SessionOutput } from "../../src/voice/SessionProtocol.ts"

/** A model that records each request and answers with ten tokens, 10 ms apart (on the TestClock). */
const recordingLlm = (requests: Array<LlmRequest>, fail = false) =>
  Layer.succeed(Llm, Llm.of({
    provider: "test",
    reply: (req) => {
      requests.push(req)
      if (fail) return Stream.fail(new ProviderError({ provider: "test", operation: "reply", reason: "down" }))
      return Stream.fromIterable(["one ", "two ", "three ", "four ", "five ", "six ", "seven ", "eight ", "nine ", "ten"]).pipe(
        Stream.mapEffect((t) => Effect.as(Effect.sleep("10 millis"), t))
      )
    }
  }))

const spec: CallSession.SessionSpec = {
  agentId: "a1",
  callId: "c1",
  systemPrompt: "You are Ada.",
  context: "the dentist appointment",
  language: "en-US",
  maxDuration: "10 minutes",
  greeting: "Hi, Ada here."
}

describe("CallSession", () => {
  it.scoped("an interrupt keeps only what the caller heard; the next request carries prompt, context and turns", () =>
    Effect.gen(function*() {
      const requests: Array<LlmRequest> = []
      const out: Array<SessionOutput> = []
      const session = yield* CallSession.make(spec, (o) => Effect.sync(() => void out.push(o))).pipe(
        Effect.provide(recordingLlm(requests))
      )
      yield* session.handle({ _tag: "Prompt", text: "Can we move it?", last: true })
      yield* TestClock.adjust("35 millis")
      expect(out.map((o) => (o._tag === "Text" ? o.token : o._tag))).toEqual(["one ", "two ", "three "])
      yield* session.handle({ _tag: "Interrupt", heard: "one two" })
      yield* TestClock.adjust("200 millis")
      expect(out).toHaveLength(3) // nothing after the interrupt
      yield* session.handle({ _tag: "Prompt", text: "To Friday?", last: true })
      yield* TestClock.adjust("200 millis")
      expect(requests[1]).toEqual({
        agentId: "a1",
        callId: "c1",
        systemPrompt: "You are Ada.",
        context: "the dentist appointment",
        turns: [
          { role: "agent", text: "Hi, Ada here." },
          { role: "caller", text: "Can we move it?" },
          { role: "agent", text: "one two" },
          { role: "caller", text: "To Friday?" }
        ]
      })
      expect(out[out.length - 1]).toEqual({ _tag: "Text", token: "", last: true })
      expect(yield* session.turns).toContainEqual({ role: "agent", text: "one two three four five six seven eight nine ten" })
    }))

  it.scoped("a failing model is answered with a spoken fallback; DTMF is a turn; a new language is announced", () =>
    Effect.gen(function*() {
      const requests: Array<LlmRequest> = []
      const out: Array<SessionOutput> = []
      const session = yield* CallSession.make(spec, (o) => Effect.sync(() => void out.push(o))).pipe(
        Effect.provide(recordingLlm(requests, true))
      )
      yield* session.handle({ _tag: "Prompt", text: "Hola", last: true, lang: "es-ES" })
      yield* TestClock.adjust("10 millis")
      expect(out).toEqual([
        { _tag: "Language", language: "es-ES" },
        { _tag: "Text", token: CallSession.FALLBACK_REPLY, last: true }
      ])
      yield* session.handle({ _tag: "Dtmf", digit: "5" })
      yield* TestClock.adjust("10 millis")
      expect(requests[1]?.turns.at(-1)).toEqual({ role: "caller", text: "(the caller pressed 5)" })
    }))

  it.scoped("the duration cap ends the session with End and stops a running answer", () =>
    Effect.gen(function*() {
      const out: Array<SessionOutput> = []
      const session = yield* CallSession.make({ ...spec, maxDuration: "1 second" }, (o) => Effect.sync(() => void out.push(o))).pipe(
        Effect.provide(recordingLlm([]))
      )
      yield* TestClock.adjust("975 millis")
      yield* session.handle({ _tag: "Prompt", text: "Hello", last: true })
      yield* TestClock.adjust("50 millis")
      expect(out.at(-1)).toEqual({ _tag: "End", handoffData: JSON.stringify({ reason: "max_duration" }) })
      const count = out.length
      yield* TestClock.adjust("1 second")
      expect(out).toHaveLength(count)
      expect(yield* session.generating).toBe(false)
    }))
})
