import * as Context from "effect/Context"

/** A call-control document to answer a provider's voice webhook with (TwiML for Twilio and the sandbox). */
export interface Instruction {
  readonly contentType: string
  readonly body: string
}

/** Connect the call to our live-voice session (ConversationRelay, or the Media Streams socket). */
export interface ConnectRequest {
  readonly mode: "relay" | "media_stream"
  /** wss URL of `/webhooks/:agentId/voice-ws` (or `media-ws`) with its single-use token. */
  readonly websocketUrl: string
  /** Where the provider reports how the session ended (transfer handoff). */
  readonly actionUrl: string
  readonly greeting: string
  readonly voice?: string | undefined
  readonly language: string
  /** Spoken before anything else (recording consent). */
  readonly announcement?: string | undefined
  /** Record the call in parallel (route duplication); the recording is reported to `recordingStatusUrl`. */
  readonly record?: { readonly recordingStatusUrl: string } | undefined
  readonly ttsProvider?: string | undefined
  readonly transcriptionProvider?: string | undefined
}

/**
 * Port: the voice orchestrator's instructions — how to answer a call, refuse
 * it politely, play a message, hand it to a human. Adapters build the
 * provider's document (src/providers/twilio/VoiceTwiml.ts for Twilio and the
 * sandbox carrier, which speaks Twilio's formats). Pure functions.
 */
export class VoiceInstructions extends Context.Tag("app/providers/VoiceInstructions")<VoiceInstructions, {
  readonly connect: (req: ConnectRequest) => Instruction
  /** Say `text` and hang up (refusals: suspended agent, spend cap). */
  readonly sayAndHangUp: (text: string) => Instruction
  /** Play an audio file (a voice message); optionally record the reply. */
  readonly play: (req: { readonly audioUrl: string; readonly recordReply?: { readonly statusUrl: string } | undefined }) => Instruction
  /** Hand the call to a human number, optionally after an announcement. */
  readonly dial: (req: { readonly to: string; readonly callerId: string; readonly announcement?: string | undefined }) => Instruction
  readonly hangUp: () => Instruction
}>() {}
