import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { AgentId } from "../../schema/Ids.ts"
import type { CallbackChannel } from "../../schema/Webhooks.ts"
import { AgentsRepo } from "../agents/AgentsRepo.ts"
import { PublicUrl } from "../http/PublicUrl.ts"
import { AgentGuard } from "../policy/AgentGuard.ts"
import { Telephony } from "../providers/Telephony.ts"

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

/** At most one keyword reply per agent, contact and keyword action in this window (no SMS pumping). */
const REPLY_WINDOW_MS = 60 * 60 * 1000
const MAX_TRACKED_REPLIES = 10_000

/**
 * What happens after an inbound message was accepted (its transaction
 * committed), outside the webhook's transaction: the SMS/WhatsApp keywords.
 * STOP (and UNSUBSCRIBE, CANCEL, END, QUIT, STOPALL) opts the contact out of
 * this agent, START opts back in, HELP answers with the configured help text;
 * each gets the standard confirmation reply from the agent's number. The
 * message is forwarded to the orchestrator either way.
 */
export class InboundHooks extends Effect.Service<InboundHooks>()("app/webhooks/InboundHooks", {
  effect: Effect.gen(function*() {
    const guard = yield* AgentGuard
    const agents = yield* AgentsRepo
    const telephony = yield* Telephony
    const publicUrl = yield* PublicUrl
    const lastReply = new Map<string, number>()

    /** True when this reply may go out now (and records it). */
    const mayReply = (key: string) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const last = lastReply.get(key)
        if (last !== undefined && now - last < REPLY_WINDOW_MS) return false
        if (lastReply.size >= MAX_TRACKED_REPLIES) {
          for (const [k, at] of lastReply) if (now - at >= REPLY_WINDOW_MS) lastReply.delete(k)
          if (lastReply.size >= MAX_TRACKED_REPLIES) lastReply.clear()
        }
        lastReply.set(key, now)
        return true
      })

    const reply = (accepted: AcceptedInbound, channel: "sms" | "whatsapp", text: string) =>
      Effect.gen(function*() {
        const agent = yield* agents.find(accepted.agentId)
        const from = Option.flatMap(agent, (a) =>
          Option.fromNullable(channel === "sms" ? a.phoneNumber : a.whatsappNumber))
        if (Option.isNone(from)) return
        yield* telephony.sendMessage({
          agentId: accepted.agentId,
          channel,
          from: from.value,
          to: accepted.from,
          body: text,
          media: [],
          statusCallbackUrl: yield* publicUrl.webhook(accepted.agentId, "message-status")
        })
      }).pipe(Effect.catchAll(() => Effect.logWarning("keyword confirmation reply not sent")))

    const afterAccepted = (accepted: AcceptedInbound): Effect.Effect<void> =>
      Effect.gen(function*() {
        if (!accepted.replay) {
          yield* Effect.logInfo("inbound message accepted").pipe(
            Effect.annotateLogs({ agentId: accepted.agentId, channel: accepted.channel, messageId: accepted.messageId })
          )
        }
        if (accepted.channel !== "sms" && accepted.channel !== "whatsapp") return
        const keyword = yield* guard.handleInboundKeyword(accepted.agentId, accepted.from, accepted.channel, accepted.body)
        if (Option.isNone(keyword)) return
        yield* Effect.logInfo("inbound keyword handled").pipe(
          Effect.annotateLogs({ agentId: accepted.agentId, keywordAction: keyword.value.action })
        )
        if (accepted.replay) return
        if (!(yield* mayReply(`${accepted.agentId}\n${accepted.from}\n${keyword.value.action}`))) return
        yield* reply(accepted, accepted.channel, keyword.value.reply)
      })
    return { afterAccepted } as const
  })
}) {}
