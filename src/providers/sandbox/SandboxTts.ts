import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { speechMinutes } from "../../billing/PriceTable.ts"
import { frames, mulawToWav, toneMulaw } from "../../voice/Audio.ts"
import { Tts } from "../Tts.ts"

/** Seconds the text takes to read aloud (150 words a minute, as the price table estimates). */
export const speechSeconds = (text: string) => Math.round(speechMinutes(text) * 60 * 100) / 100

/**
 * Sandbox TTS: no voice, but a real μ-law 8 kHz WAV file exactly as long as
 * the text takes to read (a chime), so storage, URLs, players and durations
 * are all exercised.
 */
export const SandboxTts = Layer.succeed(
  Tts,
  Tts.of({
    provider: "sandbox",
    synthesize: ({ text }) =>
      Effect.sync(() => {
        const seconds = speechSeconds(text)
        const mulaw = toneMulaw(seconds)
        return { wav: mulawToWav(mulaw), contentType: "audio/wav", durationSeconds: mulaw.length / 8000, characters: text.length }
      }),
    stream: ({ text }) => Stream.suspend(() => Stream.fromIterable(frames(toneMulaw(speechSeconds(text)))))
  })
)
