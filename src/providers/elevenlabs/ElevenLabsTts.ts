/**
 * ElevenLabs TTS through the official SDK (`@elevenlabs/elevenlabs-js`),
 * asking for `ulaw_8000` — headerless G.711 μ-law at 8 kHz, what telephony
 * plays — so no resampling: whole files are wrapped in a WAV header, streamed
 * audio goes out as 20 ms frames. `baseUrl` points the SDK at another host
 * (a regional endpoint, or a local emulator in tests).
 */
import { ElevenLabsClient } from "@elevenlabs/elevenlabs-js"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { mulawToWav } from "../../voice/Audio.ts"
import { ProviderError } from "../ProviderError.ts"
import { Tts } from "../Tts.ts"

export interface ElevenLabsOptions {
  readonly apiKey: Redacted.Redacted
  readonly baseUrl: string
  readonly model: string
  /** Voice used when a request names none. */
  readonly defaultVoice: string
}

/** ElevenLabs' default voice ("Rachel"). */
export const DEFAULT_VOICE = "21m00Tcm4TlvDq8ikWAM"

const fail = (operation: string) => (cause: unknown) =>
  new ProviderError({
    provider: "elevenlabs",
    operation,
    // the SDK's errors carry the status code; never the request (it holds the key)
    reason: typeof cause === "object" && cause !== null && "statusCode" in cause ? `status ${String(cause.statusCode)}` : "request failed",
    cause
  })

export const layer = (options: ElevenLabsOptions) =>
  Layer.sync(Tts, () => {
    const client = new ElevenLabsClient({ apiKey: Redacted.value(options.apiKey), baseUrl: options.baseUrl, maxRetries: 1 })
    const audio = (operation: "convert" | "stream", text: string, voice: string | undefined) =>
      Stream.unwrap(
        Effect.tryPromise({
          try: (signal) =>
            client.textToSpeech[operation](voice ?? options.defaultVoice, {
              text,
              modelId: options.model,
              outputFormat: "ulaw_8000"
            }, { abortSignal: signal, maxRetries: 1 }),
          catch: fail(operation)
        }).pipe(Effect.map((body) => Stream.fromReadableStream({ evaluate: () => body, onError: fail(operation) })))
      )
    return Tts.of({
      provider: "elevenlabs",
      synthesize: ({ text, voice }) =>
        audio("convert", text, voice).pipe(
          Stream.runCollect,
          Effect.map((chunks) => {
            const mulaw = Buffer.concat(Chunk.toReadonlyArray(chunks))
            return { wav: mulawToWav(mulaw), contentType: "audio/wav" as const, durationSeconds: mulaw.length / 8000, characters: text.length }
          })
        ),
      stream: ({ text, voice }) => audio("stream", text, voice)
    })
  })
