import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { NotFound, type RateLimited, SpendCapReached } from "../../schema/Errors.ts"
import type { AgentState } from "../agents/AgentState.ts"
import type { AdmitCall, CallAdmission as CallAdmissionData, CallEnded } from "../agents/Commands.ts"
import { fromUsd } from "../billing/PriceTable.ts"
import { type Admission, AgentGuard } from "../policy/AgentGuard.ts"

const DAY_MS = 86_400_000

const turnCounts = (cmd: CallEnded) =>
  cmd.turns === undefined ? {} : { callerTurns: cmd.turns.caller, agentTurns: cmd.turns.agent }
const secondsCeil = (ms: number) => Math.ceil(ms / 1000)

/**
 * The actor's handlers for `AdmitCall` and `CallEnded`: every guardrail of a
 * call through `AgentGuard` (admit with kind "call"/"voice_message", channel
 * "voice"/"whatsapp"; settle), run inside the agent's actor so check-and-reserve
 * is serialized with the agent's other actions.
 */
export class CallAdmission extends Effect.Service<CallAdmission>()("app/voice/CallAdmission", {
  effect: Effect.gen(function*() {
    const guard = yield* AgentGuard

    const admit = (state: AgentState, cmd: AdmitCall) =>
      Effect.gen(function*() {
        if (Option.isNone(state.record)) {
          return yield* new NotFound({ message: `agent ${state.agentId} is not provisioned or is suspended` })
        }
        const limits = state.guard.limits
        const maxMinutes = Math.min(cmd.maxMinutes, limits.maxCallDurationMinutes)
        const now = yield* Clock.currentTimeMillis
        if (cmd.direction === "inbound") {
          // inbound: nothing to reserve (we did not place it), but no call is taken above a spending cap
          const used = guard.usage(state.guard, now)
          const atCap = used.spentToday + used.reserved >= limits.maxSpendPerDay ||
            used.spentThisMonth + used.reserved >= limits.maxSpendPerMonth
          if (atCap) {
            const retryAfterSeconds = secondsCeil(DAY_MS - (now % DAY_MS))
            return yield* new SpendCapReached({ message: "the agent's spending cap is reached", retryAfterSeconds })
          }
          const admitted: CallAdmissionData = { reservationId: null, reservedCost: 0, remaining: guard.remaining(state.guard, now), at: now, country: null, maxMinutes }
          return [admitted, state] as const
        }
        const [admission, next] = yield* guard.admit(state.guard, {
          kind: cmd.purpose === "voice_message" ? "voice_message" : "call",
          channel: cmd.channel,
          to: cmd.to,
          toAgentId: cmd.toAgentId ?? null,
          body: cmd.text ?? "",
          estimatedMinutes: cmd.purpose === "voice_message" ? undefined : maxMinutes,
          provider: cmd.provider
        }).pipe(
          Effect.catchTag("RateLimited", (e): Effect.Effect<never, RateLimited | SpendCapReached> =>
            e.reason === "spend_per_day" || e.reason === "spend_per_month"
              ? Effect.fail(new SpendCapReached({ message: e.message, retryAfterSeconds: e.retryAfterSeconds }))
              : Effect.fail(e))
        )
        const admitted: CallAdmissionData = {
          reservationId: admission.reservationId,
          reservedCost: admission.reservedCost,
          remaining: admission.remaining,
          at: admission.at,
          country: admission.country,
          maxMinutes
        }
        return [admitted, { ...state, guard: next }] as const
      }).pipe(Effect.withSpan("CallAdmission.admit", { attributes: { agentId: state.agentId, direction: cmd.direction } }))

    const ended = (state: AgentState, cmd: CallEnded) =>
      Effect.gen(function*() {
        const a = cmd.admission
        if (a.reservationId !== null) {
          const admission: Admission = {
            reservationId: a.reservationId,
            reservedCost: a.reservedCost,
            remaining: a.remaining,
            at: a.at,
            estimate: { cost: fromUsd(a.reservedCost), lines: [], segments: undefined },
            country: a.country
          }
          const next = yield* guard.settle(state.guard, admission, cmd.connected
            ? {
              ok: true,
              provider: cmd.provider,
              externalId: cmd.externalId,
              actualCost: cmd.cost,
              channel: cmd.channel,
              actionType: cmd.actionType,
              metadata: { minutes: cmd.minutes, callId: cmd.callId, country: a.country ?? "unknown", ...turnCounts(cmd) }
            }
            : { ok: false })
          return [{ settled: true }, { ...state, guard: next }] as const
        }
        if (!cmd.connected || cmd.cost <= 0) return [{ settled: false }, state] as const
        const next = yield* guard.recordUsage(state.guard, {
          provider: cmd.provider,
          externalId: cmd.externalId,
          cost: cmd.cost,
          channel: cmd.channel,
          actionType: cmd.actionType,
          metadata: { minutes: cmd.minutes, callId: cmd.callId, ...turnCounts(cmd) }
        })
        return [{ settled: true }, { ...state, guard: next }] as const
      }).pipe(Effect.withSpan("CallAdmission.ended", { attributes: { agentId: state.agentId } }))

    return { admit, ended } as const
  })
}) {}
