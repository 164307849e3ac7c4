/**
 * Twilio Media Streams WebSocket messages (protocols.md §3.5): JSON text
 * frames, audio as base64 headerless μ-law 8 kHz. Decoding is total.
 */
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

const Str = Schema.String
const NumOrString = Schema.Union(Schema.String, Schema.Number)

export const MediaInbound = Schema.Union(
  Schema.Struct({ event: Schema.Literal("connected") }),
  Schema.Struct({
    event: Schema.Literal("start"),
    streamSid: Schema.optional(Str),
    start: Schema.Struct({
      streamSid: Str,
      callSid: Str,
      customParameters: Schema.optional(Schema.Record({ key: Str, value: Str }))
    })
  }),
  Schema.Struct({
    event: Schema.Literal("media"),
    media: Schema.Struct({ payload: Str, track: Schema.optional(Str), timestamp: Schema.optional(NumOrString) })
  }),
  Schema.Struct({ event: Schema.Literal("dtmf"), dtmf: Schema.Struct({ digit: Str }) }),
  Schema.Struct({ event: Schema.Literal("mark"), mark: Schema.Struct({ name: Str }) }),
  Schema.Struct({ event: Schema.Literal("stop") })
)
export type MediaInbound = typeof MediaInbound.Type

export const decodeMediaMessage: (frame: string) => Option.Option<MediaInbound> = Schema.decodeUnknownOption(
  Schema.parseJson(MediaInbound)
)

export const mediaFrame = (streamSid: string, mulaw: Uint8Array) =>
  JSON.stringify({ event: "media", streamSid, media: { payload: Buffer.from(mulaw).toString("base64") } })
export const clearFrame = (streamSid: string) => JSON.stringify({ event: "clear", streamSid })
export const markFrame = (streamSid: string, name: string) => JSON.stringify({ event: "mark", streamSid, mark: { name } })

/** What Twilio sends, for clients that play its part (tests, the sandbox). */
export const twilioMedia = {
  connected: () => JSON.stringify({ event: "connected", protocol: "Call", version: "1.0.0" }),
  start: (streamSid: string, callSid: string) =>
    JSON.stringify({
      event: "start",
      sequenceNumber: "1",
      streamSid,
      start: { streamSid, callSid, accountSid: "AC" + "0".repeat(32), tracks: ["inbound"], customParameters: {}, mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 } }
    }),
  media: (streamSid: string, chunk: number, mulaw: Uint8Array) =>
    JSON.stringify({ event: "media", sequenceNumber: String(chunk + 2), streamSid, media: { track: "inbound", chunk: String(chunk), timestamp: String(chunk * 20), payload: Buffer.from(mulaw).toString("base64") } }),
  stop: (streamSid: string) => JSON.stringify({ event: "stop", streamSid, stop: { accountSid: "AC" + "0".repeat(32) } })
}
