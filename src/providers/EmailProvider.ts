import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { MediaItem } from "../../schema/Domain.ts"
import type { AgentId } from "../../schema/Ids.ts"
import type { InboundEmail } from "../../schema/Webhooks.ts"
import type { ProviderError, ProviderHealth } from "./ProviderError.ts"
import type { SendResult } from "./Telephony.ts"

/** One attachment of an inbound email, with its bytes. */
export interface InboundAttachment {
  readonly filename: string
  readonly contentType: string
  readonly bytes: Uint8Array
}

/** An inbound email as the provider delivered it: the normalized message and its attachments' bytes. */
export interface DecodedInboundEmail {
  readonly email: InboundEmail
  readonly attachments: ReadonlyArray<InboundAttachment>
}

export interface SendEmailRequest {
  readonly agentId: AgentId
  readonly from: string
  readonly fromName: string
  readonly to: string
  readonly bcc: string | undefined
  readonly subject: string
  readonly text: string
  readonly attachments: ReadonlyArray<MediaItem>
  readonly headers: Readonly<Record<string, string>>
  /** Our id for this send; set by the routing layer (vendors that echo custom data carry it back). */
  readonly correlationId?: string
}

/**
 * Port: inboxes and outbound email, as business code sees it. Served by the routing layer, which
 * resolves the agent's provider per action (see `Telephony`); vendors implement `EmailAdapter`.
 */
export class EmailProvider extends Context.Tag("app/providers/EmailProvider")<EmailProvider, {
  readonly provider: string
  /** Gives the agent an address whose inbound mail is posted to `inboundUrl`; idempotent per agent. */
  readonly provisionAddress: (req: {
    readonly agentId: AgentId
    readonly inboundUrl: string
  }) => Effect.Effect<{ readonly address: string }, ProviderError>
  /** Sends one email; attachments are fetched from their URLs by the provider adapter. */
  readonly send: (req: SendEmailRequest) => Effect.Effect<SendResult, ProviderError>
  readonly releaseAddress: (agentId: AgentId) => Effect.Effect<void, ProviderError>
  readonly health: Effect.Effect<ProviderHealth>
}>() {}
