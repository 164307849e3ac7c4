import type * as Effect from "effect/Effect"
import type { AgentId } from "../../schema/Ids.ts"
import type { EmailEvent, InboundMessage, StatusUpdate, WebhookParseError } from "../../schema/Webhooks.ts"
import type { DecodedInboundEmail, SendEmailRequest } from "./EmailProvider.ts"
import type { ProviderError, ProviderHealth } from "./ProviderError.ts"
import type { SendMessageRequest, SendResult, WebhookRequest } from "./Telephony.ts"

/**
 * What a vendor adapter implements. Business code never sees these: it calls the `Telephony` /
 * `EmailProvider` ports, served by the routing layer, which picks an adapter from the
 * `ProviderRegistry` per action; the webhook router asks the adapters to verify and decode.
 * Everything vendor-specific (SDK, wire formats, signatures) stays inside the adapter.
 */

/** What a provider enables, as `comms_register_provider` reports it. */
export type Capability = "sms" | "mms" | "whatsapp" | "voice" | "email"

/** What the registry remembers about a number or inbox an adapter gave an agent. */
export interface HeldResource {
  readonly address: string
  readonly providerRef: string
}

export interface TelephonyAdapter {
  readonly slot: "telephony"
  /** The registry key: "twilio", "telnyx", "sandbox", … */
  readonly name: string
  readonly capabilities: ReadonlyArray<Capability>
  readonly provisionNumber: (req: {
    readonly agentId: AgentId
    readonly country: string
    readonly voiceUrl: string
    readonly smsUrl: string
  }) => Effect.Effect<{ readonly number: string; readonly providerRef: string }, ProviderError>
  readonly releaseNumber: (agentId: AgentId, held: HeldResource | undefined) => Effect.Effect<void, ProviderError>
  readonly sendMessage: (req: SendMessageRequest) => Effect.Effect<SendResult, ProviderError>
  /** Whether a webhook is really from this vendor (its signature over the exact request). Total. */
  readonly verifyWebhook: (req: WebhookRequest) => Effect.Effect<boolean>
  /** An inbound SMS/MMS/WhatsApp webhook → our message. */
  readonly decodeMessage: (req: WebhookRequest) => Effect.Effect<InboundMessage, WebhookParseError>
  /** A message or call status callback → our status change. */
  readonly decodeStatus: (req: WebhookRequest) => Effect.Effect<StatusUpdate, WebhookParseError>
  /** A read-only call proving the credentials work (also the breaker's health probe). */
  readonly health: Effect.Effect<ProviderHealth>
}

export interface EmailAdapter {
  readonly slot: "email"
  readonly name: string
  readonly capabilities: ReadonlyArray<Capability>
  readonly provisionAddress: (req: {
    readonly agentId: AgentId
    readonly inboundUrl: string
  }) => Effect.Effect<{ readonly address: string; readonly providerRef: string }, ProviderError>
  readonly releaseAddress: (agentId: AgentId, held: HeldResource | undefined) => Effect.Effect<void, ProviderError>
  readonly send: (req: SendEmailRequest) => Effect.Effect<SendResult, ProviderError>
  /** Whether an inbound-mail post is really from this vendor. Total. */
  readonly verifyInbound: (req: WebhookRequest) => Effect.Effect<boolean>
  readonly decodeInbound: (req: WebhookRequest) => Effect.Effect<DecodedInboundEmail, WebhookParseError>
  /** Whether a delivery-event post is really from this vendor (false when it has no event webhook). Total. */
  readonly verifyEvents: (req: WebhookRequest) => Effect.Effect<boolean>
  readonly decodeEvents: (req: WebhookRequest) => Effect.Effect<ReadonlyArray<EmailEvent>, WebhookParseError>
  readonly health: Effect.Effect<ProviderHealth>
}

export type ProviderAdapter = TelephonyAdapter | EmailAdapter
