import * as Effect from "effect/Effect"
import type { CallbackChannel } from "../../schema/Webhooks.ts"
import type { AgentId } from "../../schema/Ids.ts"

/** An inbound message that was just accepted: recorded, and its callback queued. */
export interface AcceptedInbound {
  readonly agentId: AgentId
  readonly channel: CallbackChannel
  /** Our id of the `messages` row. */
  readonly messageId: string
  /** The sender's address (E.164 or email): PII, never to be logged. */
  readonly from: string
  /** The message text: PII, never to be logged. */
  readonly body: string
  /** Set when the sender is one of our agents. */
  readonly fromAgentId: AgentId | undefined
}

/**
 * What happens after an inbound message was accepted (its transaction
 * committed), outside the webhook's transaction: opt-out keywords, agent state.
 * For now it only records the fact (no PII).
 */
export class InboundHooks extends Effect.Service<InboundHooks>()("app/webhooks/InboundHooks", {
  effect: Effect.gen(function*() {
    const afterAccepted = (accepted: AcceptedInbound): Effect.Effect<void> =>
      Effect.logInfo("inbound message accepted").pipe(
        Effect.annotateLogs({ agentId: accepted.agentId, channel: accepted.channel, messageId: accepted.messageId })
      )
    return { afterAccepted } as const
  })
}) {}
