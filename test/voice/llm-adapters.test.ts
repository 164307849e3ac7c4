/**
 * The LLM slot's adapters against local servers: the OpenAI-compatible
 * adapter streams from a chat-completions emulator (and stops it when
 * interrupted); the orchestrator adapter POSTs each turn signed like every
 * callback and forwards a streamed SSE or chunked reply; the sandbox model
 * is deterministic.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { Llm, type LlmRequest } from "../../src/providers/Llm.ts"
import * as OpenAiChatLlm from "../../src/providers/openai/OpenAiChatLlm.ts"
import * as OpenAiTts from "../../src/providers/openai/OpenAiTts.ts"
import * as OrchestratorLlm from "../../src/providers/orchestrator/OrchestratorLlm.ts"
import * as SandboxLlm from "../../src/providers/sandbox/SandboxLlm.ts"
import { Tts } from "../../src/providers/Tts.ts"
import { readWav } from "../../src/voice/Audio.ts"
import { verify } from "../../src/webhooks/StandardWebhooks.ts"
import { startOpenAiEmulator } from "../emulators/openai/server.ts"

const REPLY = "Sure, I can move your appointment to Friday at ten."
const emulator = await startOpenAiEmulator({ reply: REPLY, delayMs: 5 })
const slow = await startOpenAiEmulator({ reply: REPLY, delayMs: 60 })
afterAll(async () => {
  await emulator.close()
  await slow.close()
})

const request: LlmRequest = {
  agentId: "a1",
  callId: "c1",
  systemPrompt: "You are Ada, a receptionist.",
  context: "the dentist appointment",
  turns: [{ role: "agent", text: "Hi, Ada here." }, { role: "caller", text: "Can we move it to Friday?" }]
}

const openAi = (baseUrl: string) =>
  OpenAiChatLlm.layer({ baseUrl, apiKey: Redacted.make("sk-test-key"), model: "gpt-test" }).pipe(Layer.provide(FetchHttpClient.layer))

describe("OpenAI-compatible LLM adapter", () => {
  it.live("streams the emulator's chat completion delta by delta, with the whole conversation as messages", () =>
    Effect.gen(function*() {
      const llm = yield* Llm
      const tokens = Chunk.toReadonlyArray(yield* Stream.runCollect(llm.reply(request)))
      expect(tokens.length).toBe(REPLY.split(" ").length)
      expect(tokens.join("")).toBe(REPLY)
      const seen = emulator.requests.at(-1)
      expect(seen?.authorization).toBe("Bearer sk-test-key")
      expect(seen?.body).toEqual({
        model: "gpt-test",
        stream: true,
        messages: [
          { role: "system", content: "You are Ada, a receptionist.\n\nContext of this phone call: the dentist appointment" },
          { role: "assistant", content: "Hi, Ada here." },
          { role: "user", content: "Can we move it to Friday?" }
        ]
      })
    }).pipe(Effect.provide(openAi(emulator.baseUrl))))

  it.live("interrupting the reply closes the request at the server", () =>
    Effect.gen(function*() {
      const llm = yield* Llm
      const got: Array<string> = []
      const before = slow.aborted()
      const fiber = yield* Effect.fork(Stream.runForEach(llm.reply(request), (t) => Effect.sync(() => void got.push(t))))
      while (got.length < 2) yield* Effect.sleep("5 millis")
      yield* Fiber.interrupt(fiber)
      yield* Effect.sleep("200 millis")
      expect(slow.aborted()).toBe(before + 1)
      expect(got.length).toBeLessThan(4)
    }).pipe(Effect.provide(openAi(slow.baseUrl))))

  it.live("a server error is a ProviderError without the key", () =>
    Effect.gen(function*() {
      const llm = yield* Llm
      const error = yield* Effect.flip(Stream.runDrain(llm.reply(request)))
      expect(error._tag).toBe("ProviderError")
      expect(JSON.stringify({ ...error, cause: undefined })).not.toContain("sk-test-key")
    }).pipe(Effect.provide(openAi(emulator.baseUrl.replace("/v1", "/missing")))))

  it.live("OpenAI-compatible TTS: 24 kHz PCM becomes a μ-law 8 kHz WAV", () =>
    Effect.gen(function*() {
      const tts = yield* Tts
      const audio = yield* tts.synthesize({ text: "hello" })
      expect(readWav(audio.wav)).toMatchObject({ audioFormat: 7, sampleRate: 8000, channels: 1 })
      expect(audio.durationSeconds).toBeCloseTo(0.5, 2)
    }).pipe(Effect.provide(OpenAiTts.layer({ baseUrl: emulator.baseUrl, apiKey: undefined, model: "tts-1", defaultVoice: "alloy" }).pipe(
      Layer.provide(FetchHttpClient.layer)
    ))))
})

describe("orchestrator LLM adapter", () => {
  const SECRET = "whsec_" + Buffer.alloc(32, 7).toString("base64")
  it.live("each turn is POSTed signed; SSE and chunked plain-text replies both stream through", () =>
    Effect.gen(function*() {
      const received: Array<{ ok: boolean; body: Record<string, unknown> }> = []
      const server = createServer((req, res) => {
        let body = ""
        req.on("data", (c) => (body += c))
        req.on("end", () => {
          const ok = verify({ secret: SECRET, headers: req.headers, body, nowMillis: Date.now() }).ok
          received.push({ ok, body: JSON.parse(body) })
          if (req.url?.startsWith("/sse")) {
            res.writeHead(200, { "content-type": "text/event-stream" })
            res.write("data: {\"token\":\"Hello \"}\n\n")
            setTimeout(() => {
              res.write("data: there\n\n")
              res.end("data: [DONE]\n\n")
            }, 20)
          } else {
            res.writeHead(200, { "content-type": "text/plain" })
            res.write("Plain ")
            setTimeout(() => res.end("text."), 20)
          }
        })
      })
      yield* Effect.promise(() => new Promise<void>((r) => server.listen(0, "127.0.0.1", r)))
      const port = (server.address() as AddressInfo).port
      const run = (path: string) =>
        Effect.gen(function*() {
          const llm = yield* Llm
          return Chunk.toReadonlyArray(yield* Stream.runCollect(llm.reply(request)))
        }).pipe(Effect.provide(OrchestratorLlm.layer({ callbackUrl: `http://127.0.0.1:${port}/${path}/{agentId}`, secret: Redacted.make(SECRET) }).pipe(
          Layer.provide(FetchHttpClient.layer)
        )))
      expect(yield* run("sse")).toEqual(["Hello ", "there"])
      expect((yield* run("plain")).join("")).toBe("Plain text.")
      expect(received.map((r) => r.ok)).toEqual([true, true])
      expect(received[0]?.body).toEqual({ type: "call.turn", agentId: "a1", callId: "c1", context: "the dentist appointment", turns: request.turns })
      server.close()
    }))
})

describe("sandbox LLM", () => {
  it.effect("deterministic replies from the system prompt, the context and the caller's words", () =>
    Effect.gen(function*() {
      const llm = yield* Llm
      const words = Chunk.toReadonlyArray(yield* Stream.runCollect(llm.reply(request)))
      expect(words.join("")).toBe("This is Ada. I am calling about the dentist appointment. You said: Can we move it to Friday?. How can I help?")
      expect(words.length).toBeGreaterThan(5)
    }).pipe(Effect.provide(SandboxLlm.layer({ delayMs: 0 }))))
})
