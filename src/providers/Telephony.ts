import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { MediaItem } from "../../schema/Domain.ts"
import type { AgentId } from "../../schema/Ids.ts"
import type { ProviderError, ProviderHealth } from "./ProviderError.ts"

/** A webhook request as the route received it, for a provider adapter to authenticate and decode. */
export interface WebhookRequest {
  /** The full public URL the provider called: `<PublicUrl base>` + path + query, as configured at the provider. */
  readonly url: string
  /** Request headers, names lower-cased. */
  readonly headers: Readonly<Record<string, string | undefined>>
  /** The form fields of the body (repeated names as arrays) when it is a form post, else empty. */
  readonly params: Readonly<Record<string, string | ReadonlyArray<string>>>
  /** The exact bytes received. */
  readonly rawBody: Uint8Array
}

/** What a send returns. */
export interface SendResult {
  readonly providerMessageId: string
  readonly status: "queued" | "sent"
  /** The adapter that carried the action (the routing layer sets it; it may be a failover provider). */
  readonly provider?: string
  /**
   * "unknown": the request left but no answer came (timeout). The message must not be resent; it is
   * recorded under `providerMessageId` (a `pending:` id) and the vendor's status callback settles it.
   */
  readonly outcome?: "unknown"
}

export interface SendMessageRequest {
  readonly agentId: AgentId
  readonly channel: "sms" | "whatsapp"
  readonly from: string
  readonly to: string
  readonly body: string
  readonly media: ReadonlyArray<MediaItem>
  readonly statusCallbackUrl: string
  /** Our id for this send; set by the routing layer (vendors that echo custom data carry it back). */
  readonly correlationId?: string
  /** WhatsApp: an approved template (the vendor's template id) and its variables. */
  readonly template?: { readonly id: string; readonly variables: Readonly<Record<string, string>> }
}

/**
 * Port: phone numbers, SMS/MMS and WhatsApp, as business code sees it. In the running app it is
 * served by the routing layer (`ProviderRouting`), which picks the agent's provider from the
 * registry per action, with failover; the vendors' adapters are `TelephonyAdapter`s.
 */
export class Telephony extends Context.Tag("app/providers/Telephony")<Telephony, {
  /** The default provider's name (the agent's actual provider is per action: `SendResult.provider`). */
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
  readonly sendMessage: (req: SendMessageRequest) => Effect.Effect<SendResult, ProviderError>
  /** Returns the number to the provider. */
  readonly releaseNumber: (agentId: AgentId) => Effect.Effect<void, ProviderError>
  readonly health: Effect.Effect<ProviderHealth>
}>() {}
