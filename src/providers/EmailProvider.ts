import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { MediaItem } from "../../schema/Domain.ts"
import type { AgentId } from "../../schema/Ids.ts"
import type { InboundEmail, WebhookParseError } from "../../schema/Webhooks.ts"
import type { ProviderError, ProviderHealth } from "./ProviderError.ts"

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

/** Port: inboxes and outbound email. Adapters: sandbox mail system, SendGrid, … */
export class EmailProvider extends Context.Tag("app/providers/EmailProvider")<EmailProvider, {
  readonly provider: string
  /** Gives the agent an address whose inbound mail is posted to `inboundUrl`; idempotent per agent. */
  readonly provisionAddress: (req: {
    readonly agentId: AgentId
    readonly inboundUrl: string
  }) => Effect.Effect<{ readonly address: string }, ProviderError>
  /** Sends one email; attachments are fetched from their URLs by the provider adapter. */
  readonly send: (req: {
    readonly agentId: AgentId
    readonly from: string
    readonly fromName: string
    readonly to: string
    readonly bcc: string | undefined
    readonly subject: string
    readonly text: string
    readonly attachments: ReadonlyArray<MediaItem>
    readonly headers: Readonly<Record<string, string>>
  }) => Effect.Effect<{ readonly providerMessageId: string; readonly status: "queued" | "sent" }, ProviderError>
  /**
   * Whether an inbound-mail webhook really comes from this provider. Total:
   * false on anything unreadable. (Providers whose inbound posts are unsigned
   * are authenticated by a secret in the configured URL or by basic auth.)
   */
  readonly verifyInbound: (req: {
    readonly url: string
    readonly headers: Readonly<Record<string, string | undefined>>
  }) => boolean
  /** The inbound-mail webhook's body → the normalized email and its attachments. */
  readonly decodeInbound: (
    rawBody: Uint8Array,
    contentType: string
  ) => Effect.Effect<DecodedInboundEmail, WebhookParseError>
  readonly releaseAddress: (agentId: AgentId) => Effect.Effect<void, ProviderError>
  readonly health: Effect.Effect<ProviderHealth>
}>() {}
