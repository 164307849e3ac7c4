import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Schema from "effect/Schema"
import type { AgentId } from "../../schema/Ids.ts"
import { UsageDashboard } from "../billing/UsageDashboard.ts"
import { Outbound } from "../messaging/Outbound.ts"
import { AuditLog } from "../observability/AuditLog.ts"
import { AgentGuard } from "../policy/AgentGuard.ts"
import * as Spend from "../policy/Spend.ts"
import { AgentMemoryRepo } from "./AgentMemoryRepo.ts"
import { AgentsRepo } from "./AgentsRepo.ts"
import { type AgentState, dropKeys, EMPTY_TIMES } from "./AgentState.ts"
import type {
  AdmitCall,
  AgentCommand,
  CallEnded,
  Deprovision,
  ForgetContact,
  GetStatus,
  InboundAccepted,
  MessageStatusChanged,
  Provision,
  SendMessage,
  SetLimits
} from "./Commands.ts"
import { countReceived } from "./Counters.ts"
import { CallAdmission } from "../voice/CallAdmission.ts"
import { Provisioning } from "./Provisioning.ts"
import { done, type Step } from "./Step.ts"

/** How long a WhatsApp contact's last message keeps the free-text window open. */
export const WHATSAPP_WINDOW_MS = 24 * 60 * 60 * 1000
/** At most one keyword confirmation per agent, contact and keyword action in this window (no SMS pumping). */
export const KEYWORD_REPLY_INTERVAL_MS = 60 * 60 * 1000

/** The typed handler of one command: its own success and failure, never `unknown`. */
export type Handler<C extends AgentCommand> = (
  state: AgentState,
  command: C
) => Effect.Effect<Step<Schema.WithResult.Success<C>, Schema.WithResult.Failure<C>>, Schema.WithResult.Failure<C>>

type Handlers = { readonly [C in AgentCommand as C["_tag"]]: Handler<C> }

/**
 * What an agent does: how its state is rebuilt (`load`) and one typed handler per command of the
 * protocol. Runtime-independent: the in-process runtime and a cluster entity run the same
 * behaviour; they only decide where the mailbox lives.
 */
export class AgentBehavior extends Effect.Service<AgentBehavior>()("app/agents/AgentBehavior", {
  effect: Effect.gen(function*() {
    const provisioning = yield* Provisioning
    const outbound = yield* Outbound
    const usage = yield* UsageDashboard
    const guard = yield* AgentGuard
    const audit = yield* AuditLog
    const agents = yield* AgentsRepo
    const memory = yield* AgentMemoryRepo
    const calls = yield* CallAdmission

    /** Rebuilds an agent's state from the database (first command, restart after a crash, move). */
    const load = Effect.fn("AgentBehavior.load")(function*(agentId: AgentId) {
      const now = yield* Clock.currentTimeMillis
      const record = Option.filter(yield* agents.find(agentId), (r) => r.status === "active")
      const whatsapp = Option.exists(record, (r) => r.capabilities.whatsapp)
      return {
        agentId,
        record,
        guard: yield* guard.load(agentId),
        whatsappWindow: whatsapp ? yield* memory.openWhatsAppWindows(agentId, now - WHATSAPP_WINDOW_MS) : EMPTY_TIMES,
        keywordReplies: EMPTY_TIMES,
        counters: undefined
      } satisfies AgentState
    })

    const provision: Handler<Provision> = (state, cmd) =>
      Effect.map(provisioning.provision(state, cmd), ([out, next]) => done(out, next))

    const deprovision: Handler<Deprovision> = (state, cmd) =>
      Effect.map(provisioning.deprovision(state, cmd), ([out, next]) => done(out, next))

    /** Served from the actor's state; the counters are read once and then kept current. */
    const getStatus: Handler<GetStatus> = (state) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const monthStart = Spend.utcMonthStart(now)
        const counters = state.counters !== undefined && state.counters.monthStart === monthStart
          ? state.counters
          : Option.isSome(state.record)
          ? { ...(yield* memory.counters(state.agentId, monthStart)), monthStart }
          : undefined
        const next = counters === state.counters ? state : { ...state, counters }
        const out = yield* provisioning.status(next, counters ?? EMPTY_COUNTERS, now)
        return done(out, next)
      })

    const sendMessage: Handler<SendMessage> = (state, cmd) => outbound.send(state, cmd)

    const setLimits: Handler<SetLimits> = (state, cmd) =>
      Effect.gen(function*() {
        const out = yield* usage.setLimits(state.agentId, cmd.patch)
        yield* audit.append({
          eventType: "admin_action",
          actor: cmd.actor,
          target: state.agentId,
          details: { action: "set_limits", ...out.limits }
        })
        return done(out, { ...state, guard: guard.withLimits(state.guard, out.limits) })
      })

    /**
     * An accepted inbound message: the WhatsApp window opens, the counters move, and STOP/START/
     * HELP are applied (opt-outs are idempotent, so a provider's retry applies them again) and
     * confirmed once an hour at most, as a metered send that goes out after the webhook is answered.
     */
    const inboundAccepted: Handler<InboundAccepted> = (state, cmd) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        let next: AgentState = state
        if (!cmd.replay) {
          next = {
            ...next,
            counters: countReceived(next.counters, cmd.channel),
            whatsappWindow: cmd.channel === "whatsapp"
              ? new Map(dropKeys(next.whatsappWindow, (_, at) => now - at >= WHATSAPP_WINDOW_MS, EMPTY_TIMES)).set(
                cmd.from,
                now
              )
              : next.whatsappWindow
          }
        }
        if (cmd.channel === "email") return done(undefined, next)
        const keyword = yield* guard.handleInboundKeyword(state.agentId, cmd.from, cmd.channel, cmd.body)
        if (Option.isNone(keyword)) return done(undefined, next)
        yield* Effect.logInfo("inbound keyword handled").pipe(
          Effect.annotateLogs({ agentId: state.agentId, keywordAction: keyword.value.action })
        )
        if (cmd.replay) return done(undefined, next)
        const key = `${cmd.from}\n${keyword.value.action}`
        const last = next.keywordReplies.get(key)
        if (last !== undefined && now - last < KEYWORD_REPLY_INTERVAL_MS) return done(undefined, next)
        const keywordReplies = new Map(
          dropKeys(next.keywordReplies, (_, at) => now - at >= KEYWORD_REPLY_INTERVAL_MS, EMPTY_TIMES)
        ).set(key, now)
        const [afterAdmit, then] = yield* outbound.keywordReply(
          { ...next, keywordReplies },
          cmd.channel,
          cmd.from,
          keyword.value.reply
        )
        return done(undefined, afterAdmit, then)
      })

    const messageStatusChanged: Handler<MessageStatusChanged> = (state, cmd) =>
      Effect.succeed(done(undefined, cmd.channel === "email" || cmd.channel === undefined ? { ...state, counters: undefined } : state))

    const forgetContact: Handler<ForgetContact> = (state, cmd) => {
      const variants = new Set(cmd.variants)
      const forget = (key: string) => variants.has(key)
      return Effect.succeed(done(undefined, {
        ...state,
        guard: guard.forgetContact(state.guard, cmd.variants),
        whatsappWindow: dropKeys(state.whatsappWindow, forget, EMPTY_TIMES),
        keywordReplies: dropKeys(state.keywordReplies, (key) => forget(key.slice(0, key.indexOf("\n"))), EMPTY_TIMES),
        // the erased messages were counted
        counters: undefined
      }))
    }

    /** A call or voice message through every guardrail; the live call itself runs outside the mailbox. */
    const admitCall: Handler<AdmitCall> = (state, cmd) =>
      Effect.map(calls.admit(state, cmd), ([out, next]) => done(out, next))

    /** A call ended: its minutes settle against the reservation (or are logged, inbound). */
    const callEnded: Handler<CallEnded> = (state, cmd) =>
      Effect.map(calls.ended(state, cmd), ([out, next]) => done(out, { ...next, counters: undefined }))

    const handlers: Handlers = {
      AdmitCall: admitCall,
      CallEnded: callEnded,
      Provision: provision,
      Deprovision: deprovision,
      GetStatus: getStatus,
      SendMessage: sendMessage,
      SetLimits: setLimits,
      InboundAccepted: inboundAccepted,
      MessageStatusChanged: messageStatusChanged,
      ForgetContact: forgetContact
    }

    /** The handler of `command`, typed by it. */
    const handlerOf = <C extends AgentCommand>(command: C): Handler<C> =>
      // TypeScript cannot correlate a union's tag with the mapped type's entry; `Handlers` pairs them.
      handlers[command._tag as C["_tag"]] as unknown as Handler<C>

    return {
      load,
      handle: <C extends AgentCommand>(state: AgentState, command: C) => handlerOf(command)(state, command)
    } as const
  })
}) {}

const EMPTY_COUNTERS = { monthlyMessages: 0, emailSent: 0, emailDelivered: 0, callSeconds: 0 } as const
