import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { MediaItem } from "../../schema/Domain.ts"
import type { AgentId } from "../../schema/Ids.ts"
import type { ProviderError, ProviderHealth } from "./ProviderError.ts"

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
  readonly releaseAddress: (agentId: AgentId) => Effect.Effect<void, ProviderError>
  readonly health: Effect.Effect<ProviderHealth>
}>() {}
