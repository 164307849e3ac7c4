import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
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
  /** Returns the number to the provider. */
  readonly releaseNumber: (agentId: AgentId) => Effect.Effect<void, ProviderError>
  readonly health: Effect.Effect<ProviderHealth>
}>() {}
