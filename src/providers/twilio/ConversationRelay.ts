/**
 * Twilio ConversationRelay WebSocket messages (protocols.md §3.2–3.3) ↔ our
 * session events. Decoding is total: an unknown or malformed frame is None
 * (Twilio may add message types; `info` exists in some accounts).
 */
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { SessionEvent, SessionOutput } from "../../voice/SessionProtocol.ts"

const Str = Schema.String
const NumOrString = Schema.Union(Schema.Number, Schema.NumberFromString)

export const RelayInbound = Schema.Union(
  Schema.Struct({
    type: Schema.Literal("setup"),
    sessionId: Schema.optional(Str),
    callSid: Str,
    from: Schema.optional(Str),
    to: Schema.optional(Str),
    direction: Schema.optional(Str),
    customParameters: Schema.optional(Schema.Record({ key: Str, value: Str }))
  }),
  Schema.Struct({
    type: Schema.Literal("prompt"),
    voicePrompt: Str,
    lang: Schema.optional(Str),
    last: Schema.optional(Schema.Boolean)
  }),
  Schema.Struct({
    type: Schema.Literal("interrupt"),
    utteranceUntilInterrupt: Schema.optional(Str),
    durationUntilInterruptMs: Schema.optional(NumOrString)
  }),
  Schema.Struct({ type: Schema.Literal("dtmf"), digit: Str }),
  Schema.Struct({ type: Schema.Literal("error"), description: Schema.optional(Str) })
)
export type RelayInbound = typeof RelayInbound.Type

const decodeInbound = Schema.decodeUnknownOption(Schema.parseJson(RelayInbound))

export const decodeRelayMessage = (frame: string): Option.Option<SessionEvent> =>
  Option.map(decodeInbound(frame), (m): SessionEvent => {
    switch (m.type) {
      case "setup":
        return { _tag: "Setup", callSid: m.callSid, from: m.from ?? "", to: m.to ?? "", customParameters: m.customParameters ?? {} }
      case "prompt":
        return { _tag: "Prompt", text: m.voicePrompt, last: m.last ?? true, lang: m.lang }
      case "interrupt":
        return { _tag: "Interrupt", heard: m.utteranceUntilInterrupt }
      case "dtmf":
        return { _tag: "Dtmf", digit: m.digit }
      case "error":
        return { _tag: "Error", description: m.description ?? "" }
    }
  })

/** Our output → a ConversationRelay JSON text frame. `end.handoffData` is a string, as Twilio requires. */
export const encodeRelayMessage = (out: SessionOutput): string => {
  switch (out._tag) {
    case "Text":
      return JSON.stringify({ type: "text", token: out.token, last: out.last })
    case "Play":
      return JSON.stringify({ type: "play", source: out.source })
    case "SendDigits":
      return JSON.stringify({ type: "sendDigits", digits: out.digits })
    case "Language":
      return JSON.stringify({ type: "language", ttsLanguage: out.language, transcriptionLanguage: out.language })
    case "End":
      return JSON.stringify(out.handoffData === undefined ? { type: "end" } : { type: "end", handoffData: out.handoffData })
  }
}

/** The ConversationRelay messages Twilio sends, for clients that play Twilio's part (the sandbox carrier, tests). */
export const relay = {
  setup: (p: { callSid: string; from: string; to: string; direction: string; customParameters?: Record<string, string> }) =>
    JSON.stringify({
      type: "setup",
      sessionId: `VX${p.callSid.slice(2)}`,
      accountSid: "AC" + "0".repeat(32),
      callSid: p.callSid,
      from: p.from,
      to: p.to,
      direction: p.direction,
      callType: "PSTN",
      callStatus: "IN-PROGRESS",
      customParameters: p.customParameters ?? {}
    }),
  prompt: (text: string, last = true) => JSON.stringify({ type: "prompt", voicePrompt: text, lang: "en-US", last }),
  interrupt: (heard: string, ms: number) =>
    JSON.stringify({ type: "interrupt", utteranceUntilInterrupt: heard, durationUntilInterruptMs: String(ms) }),
  dtmf: (digit: string) => JSON.stringify({ type: "dtmf", digit })
}

/** What Twilio receives from us, decoded (for the sandbox carrier and tests). */
export const RelayOutbound = Schema.Union(
  Schema.Struct({ type: Schema.Literal("text"), token: Str, last: Schema.Boolean }),
  Schema.Struct({ type: Schema.Literal("play"), source: Str }),
  Schema.Struct({ type: Schema.Literal("sendDigits"), digits: Str }),
  Schema.Struct({ type: Schema.Literal("language"), ttsLanguage: Schema.optional(Str), transcriptionLanguage: Schema.optional(Str) }),
  Schema.Struct({ type: Schema.Literal("end"), handoffData: Schema.optional(Str) })
)
export type RelayOutbound = typeof RelayOutbound.Type
export const decodeRelayOutbound = Schema.decodeUnknownOption(Schema.parseJson(RelayOutbound))
