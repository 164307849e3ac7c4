import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
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
  readonly releaseAddress: (agentId: AgentId) => Effect.Effect<void, ProviderError>
  readonly health: Effect.Effect<ProviderHealth>
}>() {}
