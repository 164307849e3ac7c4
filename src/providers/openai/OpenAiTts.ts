/**
 * OpenAI-compatible TTS (`POST {base}/audio/speech`): asks for `pcm` (raw
 * 24 kHz 16-bit little-endian mono) and converts it to μ-law 8 kHz with the
 * codec libraries — OpenAI has no telephony output format.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { frames, mulawToWav, pcm16FromBytes, pcm16ToMulaw8k } from "../../voice/Audio.ts"
import { ProviderError } from "../ProviderError.ts"
import { Tts } from "../Tts.ts"

export const PCM_RATE = 24000

export interface OpenAiTtsOptions {
  readonly baseUrl: string
  readonly apiKey: Redacted.Redacted | undefined
  readonly model: string
  readonly defaultVoice: string
}

export const layer = (options: OpenAiTtsOptions) =>
  Layer.effect(
    Tts,
    Effect.gen(function*() {
      const http = (yield* HttpClient.HttpClient).pipe(HttpClient.filterStatusOk)
      const mulaw = (text: string, voice: string | undefined) =>
        http.execute(
          HttpClientRequest.post(`${options.baseUrl}/audio/speech`).pipe(
            options.apiKey === undefined ? (r) => r : HttpClientRequest.bearerToken(Redacted.value(options.apiKey)),
            HttpClientRequest.bodyUnsafeJson({ model: options.model, input: text, voice: voice ?? options.defaultVoice, response_format: "pcm" })
          )
        ).pipe(
          Effect.flatMap((r) => r.arrayBuffer),
          Effect.map((buf) => pcm16ToMulaw8k(pcm16FromBytes(new Uint8Array(buf)), PCM_RATE)),
          Effect.mapError((e) => new ProviderError({ provider: "openai", operation: "speech", reason: e._tag, cause: e }))
        )
      return Tts.of({
        provider: "openai",
        synthesize: ({ text, voice }) =>
          Effect.map(mulaw(text, voice), (m) => ({
            wav: mulawToWav(m),
            contentType: "audio/wav" as const,
            durationSeconds: m.length / 8000,
            characters: text.length
          })),
        stream: ({ text, voice }) => Stream.unwrap(Effect.map(mulaw(text, voice), (m) => Stream.fromIterable(frames(m))))
      })
    })
  )
