/**
 * Deepgram live speech-to-text through the official SDK (`@deepgram/sdk`,
 * `listen.v1` WebSocket): headerless μ-law 8 kHz frames in (Twilio Media
 * Streams audio as is), `Results` out — interim ones as non-final
 * transcripts (barge-in), `is_final` ones as utterances. The SDK's
 * `environment` points it at another host (a local emulator in tests).
 */
import { DeepgramClient } from "@deepgram/sdk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { ProviderError } from "../ProviderError.ts"
import { Stt, type Transcript } from "../Stt.ts"

export interface DeepgramOptions {
  readonly apiKey: Redacted.Redacted
  /** https://api.deepgram.com, or a local emulator's http URL; the WebSocket host is derived from it. */
  readonly baseUrl: string
  readonly model: string
}

const fail = (reason: string, cause?: unknown) => new ProviderError({ provider: "deepgram", operation: "live transcription", reason, cause })

export const layer = (options: DeepgramOptions) =>
  Layer.sync(Stt, () => {
    const ws = options.baseUrl.replace(/^http/, "ws")
    const client = new DeepgramClient({
      apiKey: Redacted.value(options.apiKey),
      environment: { base: options.baseUrl, production: ws, agent: ws, agentRest: options.baseUrl },
      reconnect: false
    })
    return Stt.of({
      provider: "deepgram",
      transcribe: (audio) =>
        Stream.asyncScoped<Transcript, ProviderError>((emit) =>
          Effect.gen(function*() {
            const socket = yield* Effect.acquireRelease(
              Effect.tryPromise({
                try: async () => {
                  const s = await client.listen.v1.connect({
                    model: options.model,
                    encoding: "mulaw",
                    sample_rate: 8000,
                    channels: 1,
                    interim_results: "true",
                    punctuate: "true"
                  })
                  s.on("message", (m) => {
                    if (m.type !== "Results") return
                    const text = m.channel.alternatives[0]?.transcript ?? ""
                    if (text !== "") void emit.single({ text, final: m.is_final === true })
                  })
                  s.on("close", () => void emit.end())
                  s.on("error", (e) => void emit.fail(fail("socket error", e)))
                  s.connect()
                  await s.waitForOpen()
                  return s
                },
                catch: (e) => fail("could not connect", e)
              }),
              (s) => Effect.sync(() => s.close())
            )
            yield* Effect.forkScoped(
              Stream.runForEach(audio, (frame) => Effect.sync(() => socket.sendMedia(frame))).pipe(
                Effect.zipRight(Effect.sync(() => socket.sendCloseStream({ type: "CloseStream" })))
              )
            )
          })
        )
    })
  })
