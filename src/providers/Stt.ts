import * as Context from "effect/Context"
import type * as Stream from "effect/Stream"
import type { ProviderError } from "./ProviderError.ts"

/** A piece of recognized speech. `final` marks the end of an utterance (a prompt for the LLM). */
export interface Transcript {
  readonly text: string
  readonly final: boolean
}

/**
 * Port: live speech to text over headerless μ-law 8 kHz mono audio (telephony
 * frames). Ending the audio stream finishes the transcription; interrupting
 * the result stream closes the vendor connection. Adapters: sandbox, Deepgram live.
 */
export class Stt extends Context.Tag("app/providers/Stt")<Stt, {
  readonly provider: string
  readonly transcribe: (audio: Stream.Stream<Uint8Array>) => Stream.Stream<Transcript, ProviderError>
}>() {}
