/** ElevenLabs TTS through the official SDK, pointed at a local emulator of its wire format. */
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as ElevenLabsTts from "../../src/providers/elevenlabs/ElevenLabsTts.ts"
import { Tts } from "../../src/providers/Tts.ts"
import { readWav } from "../../src/voice/Audio.ts"
import { startElevenLabsEmulator } from "../emulators/elevenlabs/server.ts"

const emulator = await startElevenLabsEmulator()
afterAll(() => emulator.close())

const layer = ElevenLabsTts.layer({
  apiKey: Redacted.make("xi-test-key"),
  baseUrl: emulator.baseUrl,
  model: "eleven_multilingual_v2",
  defaultVoice: "voice-1"
})

describe("ElevenLabs TTS", () => {
  it.live("asks for ulaw_8000 and wraps it in a telephony WAV of the right length", () =>
    Effect.gen(function*() {
      const tts = yield* Tts
      const text = "Your table for two is booked."
      const audio = yield* tts.synthesize({ text, voice: "voice-2" })
      expect(readWav(audio.wav)).toMatchObject({ audioFormat: 7, sampleRate: 8000, channels: 1, bitsPerSample: 8 })
      expect(audio.durationSeconds).toBeCloseTo(text.length * 0.05, 2)
      expect(emulator.requests.at(-1)).toEqual({
        path: "/v1/text-to-speech/voice-2",
        query: { output_format: "ulaw_8000" },
        apiKey: "xi-test-key",
        body: { text, model_id: "eleven_multilingual_v2" }
      })
    }).pipe(Effect.provide(layer)))

  it.live("streams μ-law chunks as they come (the Media Streams path)", () =>
    Effect.gen(function*() {
      const tts = yield* Tts
      const chunks = Chunk.toReadonlyArray(yield* Stream.runCollect(tts.stream({ text: "One moment please." })))
      expect(chunks.length).toBeGreaterThan(1)
      expect(chunks.reduce((n, c) => n + c.length, 0)).toBe(Math.round("One moment please.".length * 0.05 * 8000))
      expect(emulator.requests.at(-1)?.path).toBe("/v1/text-to-speech/voice-1/stream")
    }).pipe(Effect.provide(layer)))
})
