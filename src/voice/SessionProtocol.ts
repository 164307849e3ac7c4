/**
 * The text-level live-call protocol, in our own terms. Both orchestrators
 * (ConversationRelay, Media Streams) translate their wire messages to these
 * events and render these outputs; `CallSession` never sees a vendor format.
 */
export type SessionEvent =
  | {
    readonly _tag: "Setup"
    readonly callSid: string
    readonly from: string
    readonly to: string
    readonly customParameters: Readonly<Record<string, string>>
  }
  /** Caller speech; `last: false` is a partial prompt. */
  | { readonly _tag: "Prompt"; readonly text: string; readonly last: boolean; readonly lang?: string | undefined }
  /** The caller spoke over the agent; `heard` is what had been spoken to them (when the orchestrator knows). */
  | { readonly _tag: "Interrupt"; readonly heard: string | undefined }
  | { readonly _tag: "Dtmf"; readonly digit: string }
  | { readonly _tag: "Error"; readonly description: string }

export type SessionOutput =
  | { readonly _tag: "Text"; readonly token: string; readonly last: boolean }
  | { readonly _tag: "Play"; readonly source: string }
  | { readonly _tag: "SendDigits"; readonly digits: string }
  | { readonly _tag: "Language"; readonly language: string }
  | { readonly _tag: "End"; readonly handoffData?: string | undefined }
