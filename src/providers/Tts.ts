import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Stream from "effect/Stream"
import type { ProviderError } from "./ProviderError.ts"

/** Generated speech: always a μ-law 8 kHz mono WAV file (what telephony plays), with its length. */
export interface SpeechAudio {
  /** A complete WAV file (format tag 7, 8000 Hz, 8 bits, mono). */
  readonly wav: Uint8Array
  readonly contentType: "audio/wav"
  readonly durationSeconds: number
  /** Characters synthesized (what vendors bill). */
  readonly characters: number
}

/**
 * Port: text to speech. `synthesize` gives a whole file (voice messages);
 * `stream` gives headerless μ-law 8 kHz chunks as they are produced (the Media
 * Streams path). Adapters: sandbox (a real, silent-ish tone WAV of the right
 * length), ElevenLabs, OpenAI-compatible.
 */
export class Tts extends Context.Tag("app/providers/Tts")<Tts, {
  readonly provider: string
  readonly synthesize: (req: { readonly text: string; readonly voice?: string | undefined }) => Effect.Effect<
    SpeechAudio,
    ProviderError
  >
  readonly stream: (req: { readonly text: string; readonly voice?: string | undefined }) => Stream.Stream<
    Uint8Array,
    ProviderError
  >
}>() {}
