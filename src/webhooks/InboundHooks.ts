import * as Effect from "effect/Effect"
import type { AgentId } from "../../schema/Ids.ts"
import type { CallbackChannel } from "../../schema/Webhooks.ts"
import { AgentRuntime } from "../agents/AgentRuntime.ts"
import { InboundAccepted, MessageStatusChanged } from "../agents/Commands.ts"

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
  /** A duplicate of a message accepted before (provider retry): state is re-applied, nothing is sent. */
  readonly replay: boolean
}

/**
 * What happens after an inbound message was accepted (its transaction committed), outside the
 * webhook's transaction: the agent's actor hears of it (WhatsApp window, counters, and the
 * STOP/START/HELP keywords with their metered confirmation reply). Email changes nothing the actor
 * keeps, so it does not go there. The message is forwarded to the orchestrator either way.
 */
export class InboundHooks extends Effect.Service<InboundHooks>()("app/webhooks/InboundHooks", {
  effect: Effect.gen(function*() {
    const runtime = yield* AgentRuntime

    const afterAccepted = Effect.fn("InboundHooks.afterAccepted")(function*(accepted: AcceptedInbound) {
      if (!accepted.replay) {
        yield* Effect.logInfo("inbound message accepted").pipe(
          Effect.annotateLogs({ agentId: accepted.agentId, channel: accepted.channel, messageId: accepted.messageId })
        )
      }
      if (accepted.channel !== "sms" && accepted.channel !== "whatsapp") return
      yield* runtime.send(
        accepted.agentId,
        new InboundAccepted({
          channel: accepted.channel,
          from: accepted.from,
          body: accepted.body,
          replay: accepted.replay
        })
      ).pipe(
        // the message is stored and its callback queued: the webhook is answered whatever happens here
        Effect.catchAllCause(() => Effect.logWarning("inbound bookkeeping of the agent failed"))
      )
    })

    /** A delivery status changed: a running agent's cached counters may be stale. */
    const afterStatus = (agentId: AgentId) => runtime.notifyIfActive(agentId, new MessageStatusChanged({}))

    return { afterAccepted, afterStatus } as const
  })
}) {}
