import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { MediaItem } from "../../schema/Domain.ts"
import type { AgentId } from "../../schema/Ids.ts"
import type { ProviderError, ProviderHealth } from "./ProviderError.ts"

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
  /** Returns the number to the provider. */
  readonly releaseNumber: (agentId: AgentId) => Effect.Effect<void, ProviderError>
  readonly health: Effect.Effect<ProviderHealth>
}>() {}
