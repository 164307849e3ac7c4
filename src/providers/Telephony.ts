import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { MediaItem } from "../../schema/Domain.ts"
import type { AgentId } from "../../schema/Ids.ts"
import type { InboundMessage, StatusUpdate, WebhookParseError } from "../../schema/Webhooks.ts"
import type { ProviderError, ProviderHealth } from "./ProviderError.ts"
import type { Instruction } from "./VoiceInstructions.ts"

/** A change to a live call: new instructions (a transfer's `<Dial>`), or hang up. */
export type CallUpdate =
  | { readonly _tag: "Redirect"; readonly instruction: Instruction }
  | { readonly _tag: "HangUp" }

/** A webhook request as the route received it, for the provider to authenticate. */
export interface WebhookRequest {
  /** The full public URL the provider called: `<PublicUrl base>` + path + query, as configured at the provider. */
  readonly url: string
  /** Request headers, names lower-cased. */
  readonly headers: Readonly<Record<string, string | undefined>>
  /** The form fields of the body (repeated names as arrays), parsed once by the route. */
  readonly params: Readonly<Record<string, string | ReadonlyArray<string>>>
  /** The exact bytes received. */
  readonly rawBody: Uint8Array
}

/** Port: phone numbers, SMS/MMS and calls. Adapters: sandbox carrier, Twilio, … */
export class Telephony extends Context.Tag("app/providers/Telephony")<Telephony, {
  readonly provider: string
  /**
   * Gives the agent a number in `country` whose voice and messaging webhooks
   * point at our endpoints. Asking again for the same agent returns the number
   * it still holds (a retried or repeated provisioning buys nothing twice).
   */
  readonly provisionNumber: (req: {
    readonly agentId: AgentId
    readonly country: string
    readonly voiceUrl: string
    readonly smsUrl: string
  }) => Effect.Effect<{ readonly number: string; readonly providerRef: string }, ProviderError>
  /**
   * Sends an SMS/MMS or WhatsApp message from the agent's number. The provider
   * reports delivery later to `statusCallbackUrl`.
   */
  readonly sendMessage: (req: {
    readonly agentId: AgentId
    readonly channel: "sms" | "whatsapp"
    readonly from: string
    readonly to: string
    readonly body: string
    readonly media: ReadonlyArray<MediaItem>
    readonly statusCallbackUrl: string
  }) => Effect.Effect<{ readonly providerMessageId: string; readonly status: "queued" | "sent" }, ProviderError>
  /**
   * Whether a webhook (inbound message or status callback) really comes from
   * this provider: its signature over the exact request. Total: false on
   * anything unreadable. Adapters whose scheme is timestamped must also refuse
   * requests older than 5 minutes (`checkTimestamp`).
   */
  readonly verifyWebhook: (req: WebhookRequest) => boolean
  /** An inbound SMS/MMS/WhatsApp webhook's fields → the normalized message. */
  readonly decodeMessage: (
    fields: Readonly<Record<string, string | ReadonlyArray<string>>>
  ) => Effect.Effect<InboundMessage, WebhookParseError>
  /** A message or call status callback's fields → the normalized status change. */
  readonly decodeStatus: (
    fields: Readonly<Record<string, string | ReadonlyArray<string>>>
  ) => Effect.Effect<StatusUpdate, WebhookParseError>
  /**
   * Places an outbound call from the agent's number. When answered, the
   * provider fetches its instructions from `url` (our voice webhook); progress
   * (ringing, in-progress, completed | busy | no-answer | failed, duration) is
   * posted to `statusCallbackUrl`. The call ends by itself after `timeLimitSeconds`.
   */
  readonly placeCall: (req: {
    readonly agentId: AgentId
    readonly from: string
    readonly to: string
    readonly url: string
    readonly statusCallbackUrl: string
    readonly timeLimitSeconds: number
    /** Record both legs (route duplication); the recording is posted to this URL. */
    readonly recordingStatusUrl?: string | undefined
  }) => Effect.Effect<{ readonly callSid: string }, ProviderError>
  /** Changes a live call (transfer by new instructions, hang up). */
  readonly updateCall: (req: {
    readonly agentId: AgentId
    readonly callSid: string
    readonly update: CallUpdate
  }) => Effect.Effect<void, ProviderError>
  /** Returns the number to the provider. */
  readonly releaseNumber: (agentId: AgentId) => Effect.Effect<void, ProviderError>
  readonly health: Effect.Effect<ProviderHealth>
}>() {}
