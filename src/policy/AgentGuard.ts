/**
 * The guard every outbound action of an agent passes, inside the agent's actor (so one agent's
 * admits are serialized: check-and-reserve needs no lock). In order:
 *
 *   1. compliance — opt-out → DNC → quiet hours (DNC and quiet hours skipped for email and for
 *      recipients that are our own agents; opt-outs always apply)
 *   2. contact cap — calls per UTC day to the same number (anti-harassment; applies to agents too)
 *   3. rate windows — exact sliding minute / hour / day (`RateWindows.ts`)
 *   4. spending caps — UTC day and month, against settled + reserved spend (`Spend.ts`)
 *   5. reserve — the estimated cost (`PriceTable`) is reserved and persisted as an
 *      `action_events` row, which is also the action's slot in the rate windows.
 *
 * Steps 2–4 and quiet hours need no database. When they pass, the opt-out/DNC lookup and the
 * reservation insert are one statement (one round trip per admit); when one of them refuses, the
 * lists are looked up first so the refusal reported is always the first in the order above.
 *
 * `settle` turns the reservation into a `usage_logs` row (id = reservation id, so a repeated settle
 * is a no-op) with the actual cost, or releases it — spend and rate slot — when the action failed.
 *
 * Crash safety: the reservation row is written before the action is attempted. On `load` (actor
 * start or restart) reservations older than `RESERVATION_TTL_MS` are expired: their spend is
 * released but their rate slot kept (the action may have gone out). Younger ones are reloaded as
 * "orphans" and expire in memory when their TTL passes; a late `settle` of any of them still logs
 * the cost, exactly once.
 *
 * Limitation: the check-and-reserve is race-free per agent within one process (the actor). Two
 * processes running an actor for the same agent would each see only their own reservations until
 * their next `load`; agents must be pinned to one process (or a row lock on `spending_limits` added
 * around admit). The cluster runtime does that pinning: an agent lives on one runner at a time.
 *
 * Refusals by a rate window or a spending cap increment `comms_rate_limit_hits_total{agent}`;
 * every limit refusal (those and the contact cap) is counted per agent, day and limit in
 * `limit_hits` (the dashboard's `rateLimitHits`) and written to the audit trail as
 * `rate_limit_breached` — at most once a minute per agent and limit, so a looping agent cannot
 * flood the hash chain.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import type * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { RateLimited } from "../../schema/Errors.ts"
import { AppConfig } from "../config/AppConfig.ts"
import { randomUUID } from "node:crypto"
import { ContactLimit, type DncListed, type OptedOut, type QuietHours } from "../../schema/Errors.ts"
import type { AgentId } from "../../schema/Ids.ts"
import { AgentLimits } from "../billing/Limits.ts"
import {
  decimalToMicros,
  fromUsd,
  microsToDecimal,
  type PriceEstimate,
  PriceTable,
  toUsd
} from "../billing/PriceTable.ts"
import type { EffectiveLimits } from "../../schema/tools/Usage.ts"
import { AuditLog } from "../observability/AuditLog.ts"
import { locateNumber, type NumberLocation } from "./areaCodeTimeZones.ts"
import { Compliance, type KeywordAction, normalizeContact, type ScreenRequest } from "./Compliance.ts"
import * as Windows from "./RateWindows.ts"
import * as Spend from "./Spend.ts"

// ── Contract ────────────────────────────────────────────────────────────────────────────────

export interface OutboundAction {
  readonly kind: "message" | "call" | "voice_message"
  readonly channel: "sms" | "whatsapp" | "email" | "voice"
  /** E.164 number or email address (already validated). */
  readonly to: string
  /** Set when the recipient is one of our agents: exempt from DNC and quiet hours, never from limits. */
  readonly toAgentId: AgentId | null
  /** Text (SMS segment counting, voice-message length); "" for calls. */
  readonly body: string
  /** Calls / voice messages: expected minutes (a call without one reserves the agent's per-call cap). */
  readonly estimatedMinutes?: number | undefined
  /** Attachments (an SMS with media is priced as one MMS). */
  readonly mediaCount?: number | undefined
  /** Provider that will carry it (prices differ; "sandbox" is priced as its vendor). Default: the service's default vendor. */
  readonly provider?: string | undefined
  /** WhatsApp: a template message (outside the 24 h window). Unknown → reserved at the template price. */
  readonly template?: boolean | undefined
  /**
   * A confirmation the law requires or allows whatever the recipient's status (the STOP/START/HELP
   * replies): exempt from opt-out, DNC, quiet hours and the per-contact cap; never from the rate
   * windows or the spending caps.
   */
  readonly transactional?: boolean | undefined
  /**
   * The reservation's id (the `action_events` primary key), e.g. the command's request id: a
   * command delivered twice (a cluster redelivering after a runner died) cannot reserve, hence
   * send, twice. Default: a fresh UUID.
   */
  readonly reservationId?: string | undefined
}

export type LimitName = Windows.WindowName | Spend.SpendCap

export { RateLimited }
export type RateLimitedRefusal = RateLimited

export type Refusal = RateLimited | DncListed | QuietHours | OptedOut | ContactLimit

export interface Admission {
  readonly reservationId: string
  /** USD reserved against the spending caps (the estimate). */
  readonly reservedCost: number
  /** Actions left in the tightest rate window after this one. */
  readonly remaining: number
  /** When it was admitted (epoch ms). */
  readonly at: number
  /** How the cost was estimated (segments for SMS, minutes for calls, …). */
  readonly estimate: PriceEstimate
  /** Recipient country, when known (written to the usage log's metadata). */
  readonly country: string | null
}

export type SettleOutcome =
  | {
    readonly ok: true
    readonly provider: string
    readonly externalId: string | null
    /** USD actually charged (logged as is, even above the reservation). */
    readonly actualCost: number
    readonly channel: string
    /** e.g. send_sms, send_mms, send_whatsapp, send_email, make_call, voice_message (see `actionTypeFor`). */
    readonly actionType: string
    /** No PII: ids, durations, counts. */
    readonly metadata: Readonly<Record<string, string | number | boolean>>
  }
  | { readonly ok: false }

/** A cost that did not come from an admission (e.g. a call's final minutes from its status callback). */
export interface UsageEntry {
  readonly provider: string
  readonly externalId: string | null
  readonly cost: number
  readonly channel: string
  readonly actionType: string
  readonly metadata: Readonly<Record<string, string | number | boolean>>
}

interface Reservation {
  /** micro-dollars */
  readonly cost: number
  readonly at: number
  /** The called number, for calls (contact cap); null otherwise. */
  readonly callTo: string | null
  /** Reloaded from the database (its admitter died): expires after the TTL. */
  readonly orphan: boolean
}

/**
 * What the guard keeps per agent, in the actor's state. Immutable: every operation returns a new
 * one (idle agents share the empty structures and the default limits object).
 */
export interface GuardState {
  readonly agentId: AgentId
  readonly limits: EffectiveLimits
  /** Times of admitted, not failed, actions in the last 24 h, ascending. */
  readonly actions: Windows.Timeline
  readonly spend: Spend.SpendLedger
  readonly pending: ReadonlyMap<string, Reservation>
  /** UTC day the call counts are for. */
  readonly callDay: number
  /** Calls admitted today per number. */
  readonly calls: ReadonlyMap<string, number>
  /** Time of the last load/admit/settle (what `remaining` is computed at). */
  readonly asOf: number
}

export interface GuardUsage {
  readonly actionsThisMinute: number
  readonly actionsThisHour: number
  readonly actionsToday: number
  readonly spentToday: number
  readonly spentThisMonth: number
  readonly reserved: number
}

/** Reservations older than this are presumed dead when the actor (re)loads. */
export const RESERVATION_TTL_MS = 10 * 60_000
/** `action_events` rows kept for the windows (a day) plus slack. */
const RETENTION_MS = 2 * Windows.DAY_MS
/** At most one audit row per agent and limit in this interval. */
const AUDIT_INTERVAL_MS = 60_000

/** Prometheus: `comms_rate_limit_hits_total{agent}` — refusals by a rate window or spending cap. */
export const rateLimitHits = Metric.counter("comms_rate_limit_hits_total", {
  description: "Actions refused by a rate window or a spending cap, per agent",
  incremental: true
})

/** The `usage_logs.action_type` the guard proposes for an action (the dashboard buckets calls by it). */
export const actionTypeFor = (action: Pick<OutboundAction, "kind" | "channel" | "mediaCount">): string => {
  if (action.kind === "call") return "make_call"
  if (action.kind === "voice_message") return action.channel === "whatsapp" ? "whatsapp_audio" : "voice_message"
  switch (action.channel) {
    case "sms":
      return (action.mediaCount ?? 0) > 0 ? "send_mms" : "send_sms"
    case "whatsapp":
      return "send_whatsapp"
    case "email":
      return "send_email"
    case "voice":
      return "voice_message"
  }
}

const EMPTY_PENDING: ReadonlyMap<string, Reservation> = new Map()
const EMPTY_CALLS: ReadonlyMap<string, number> = new Map()
const NO_LOCATION: NumberLocation = { country: undefined, zones: [], precision: "none" }

const windowLimits = (l: EffectiveLimits): Windows.WindowLimits => ({
  per_minute: l.maxActionsPerMinute,
  per_hour: l.maxActionsPerHour,
  per_day: l.maxActionsPerDay
})

const without = <V>(map: ReadonlyMap<string, V>, key: string, empty: ReadonlyMap<string, V>): ReadonlyMap<string, V> => {
  if (!map.has(key)) return map
  if (map.size === 1) return empty
  const next = new Map(map)
  next.delete(key)
  return next
}

const dropFrom = <V>(map: ReadonlyMap<string, V>, drop: (key: string) => boolean, empty: ReadonlyMap<string, V>) => {
  const next = new Map(map)
  for (const k of map.keys()) if (drop(k)) next.delete(k)
  return next.size === map.size ? map : next.size === 0 ? empty : next
}

const secondsCeil = (ms: number) => Math.ceil(ms / 1000)
const usd = (micros: number) => `$${toUsd(micros).toFixed(2)}`
const isoDay = (ms: number) => new Date(Spend.utcDayStart(ms)).toISOString().slice(0, 10)

const Num = Schema.Union(Schema.Number, Schema.NumberFromString)
const DateLike = Schema.Union(Schema.DateFromSelf, Schema.DateFromString)
const EventRow = Schema.Struct({
  id: Schema.String,
  at: DateLike,
  status: Schema.Literal("reserved", "settled", "failed", "expired"),
  reservedCost: Schema.Union(Schema.String, Schema.Number),
  contact: Schema.NullOr(Schema.String)
})
const SpendRow = Schema.Struct({ day: Schema.Union(Schema.String, Schema.Number), month: Schema.Union(Schema.String, Schema.Number) })
const HitRow = Schema.Struct({ hits: Num, prevAuditedAt: Schema.NullOr(DateLike) })

// ── Service ─────────────────────────────────────────────────────────────────────────────────

export class AgentGuard extends Effect.Service<AgentGuard>()("app/policy/AgentGuard", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const compliance = yield* Compliance
    const config = yield* AppConfig
    const prices = yield* PriceTable
    const agentLimits = yield* AgentLimits
    const audit = yield* AuditLog
    const decodeEvents = Schema.decodeUnknown(Schema.Array(EventRow))
    const decodeSpend = Schema.decodeUnknown(Schema.Array(SpendRow))
    const decodeHits = Schema.decodeUnknown(Schema.Array(HitRow))

    let sharedLedger = Spend.emptyLedger(0)
    /** Idle agents loaded the same day share one ledger object. */
    const emptyLedger = (now: number) => {
      if (sharedLedger.dayStart !== Spend.utcDayStart(now)) sharedLedger = Spend.emptyLedger(now)
      return sharedLedger
    }

    /** A state with no history (what `load` returns for an agent that did nothing lately). */
    const initialState = (agentId: AgentId, limits: EffectiveLimits, now: number): GuardState => ({
      agentId,
      limits,
      actions: Windows.EMPTY_TIMELINE,
      spend: emptyLedger(now),
      pending: EMPTY_PENDING,
      callDay: Spend.utcDayStart(now),
      calls: EMPTY_CALLS,
      asOf: now
    })

    /** Rebuilds the state from the database (actor start / restart). */
    const load = (agentId: AgentId) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const limits = yield* agentLimits.get(agentId)
        const dayStart = Spend.utcDayStart(now)
        const monthStart = Spend.utcMonthStart(now)
        // one round trip: expire dead reservations, purge rows past retention, read the last day
        // (a data-modifying CTE's effects are not visible to the outer SELECT: it reads the
        // expired rows as they were, hence the CASE)
        const events = yield* sql`WITH expired AS (
            UPDATE action_events SET status = 'expired'
            WHERE agent_id = ${agentId} AND status = 'reserved' AND at <= ${new Date(now - RESERVATION_TTL_MS)}
            RETURNING id
          ), purged AS (
            DELETE FROM action_events
            WHERE agent_id = ${agentId} AND at < ${new Date(now - RETENTION_MS)} AND status <> 'reserved'
          )
          SELECT id, at, CASE WHEN id IN (SELECT id FROM expired) THEN 'expired' ELSE status END AS status,
            reserved_cost, contact
          FROM action_events
          WHERE agent_id = ${agentId}
            AND (at > ${new Date(now - Windows.DAY_MS)} OR (status = 'reserved' AND id NOT IN (SELECT id FROM expired)))
          ORDER BY at`.pipe(Effect.flatMap(decodeEvents))
        const [spent] = yield* sql`SELECT
            coalesce(sum(cost) FILTER (WHERE created_at >= ${new Date(dayStart)}), 0) AS day,
            coalesce(sum(cost), 0) AS month
          FROM usage_logs WHERE agent_id = ${agentId} AND created_at >= ${new Date(monthStart)}`.pipe(
          Effect.flatMap(decodeSpend)
        )
        const base = initialState(agentId, limits, now)
        const settledDay = decimalToMicros(spent?.day ?? 0)
        const settledMonth = decimalToMicros(spent?.month ?? 0)
        if (events.length === 0 && settledMonth === 0) return base

        const actions: Array<number> = []
        const pending = new Map<string, Reservation>()
        const calls = new Map<string, number>()
        let reserved = 0
        for (const e of events) {
          if (e.status === "failed") continue
          const at = e.at.getTime()
          if (at > now - Windows.DAY_MS) actions.push(at)
          if (e.contact !== null && at >= dayStart) calls.set(e.contact, (calls.get(e.contact) ?? 0) + 1)
          if (e.status === "reserved") {
            const cost = decimalToMicros(e.reservedCost)
            pending.set(e.id, { cost, at, callTo: e.contact, orphan: true })
            reserved += cost
          }
        }
        return {
          ...base,
          actions: actions.length === 0 ? Windows.EMPTY_TIMELINE : actions,
          spend: { dayStart, monthStart, settledDay, settledMonth, reserved },
          pending: pending.size === 0 ? EMPTY_PENDING : pending,
          calls: calls.size === 0 ? EMPTY_CALLS : calls
        } satisfies GuardState
      }).pipe(Effect.orDie, Effect.withSpan("AgentGuard.load", { attributes: { agentId } }))

    /** Counts a limit refusal (metric, `limit_hits`) and audits it at most once a minute per limit. */
    const recordBreach = (
      agentId: AgentId,
      limit: LimitName | "contact_per_day",
      now: number,
      details: Readonly<Record<string, string | number | boolean | null>>
    ) =>
      Effect.gen(function*() {
        if (limit !== "contact_per_day") yield* Metric.increment(Metric.tagged(rateLimitHits, "agent", agentId))
        const at = new Date(now)
        const [row] = yield* sql`WITH prev AS (
            SELECT last_audited_at FROM limit_hits
            WHERE agent_id = ${agentId} AND hit_date = ${isoDay(now)} AND limit_name = ${limit}
          )
          INSERT INTO limit_hits (agent_id, hit_date, limit_name, hits, last_audited_at)
          VALUES (${agentId}, ${isoDay(now)}, ${limit}, 1, ${at})
          ON CONFLICT (agent_id, hit_date, limit_name) DO UPDATE SET
            hits = limit_hits.hits + 1,
            last_audited_at = CASE WHEN limit_hits.last_audited_at <= ${new Date(now - AUDIT_INTERVAL_MS)}
              THEN EXCLUDED.last_audited_at ELSE limit_hits.last_audited_at END
          RETURNING hits, (SELECT last_audited_at FROM prev) AS prev_audited_at`.pipe(Effect.flatMap(decodeHits))
        const first = row === undefined || row.prevAuditedAt === null
        if (first || (row.prevAuditedAt !== null && row.prevAuditedAt.getTime() <= now - AUDIT_INTERVAL_MS)) {
          yield* audit.append({
            eventType: "rate_limit_breached",
            actor: "system",
            target: agentId,
            details: { limit, hitsToday: row?.hits ?? 1, ...details }
          })
        }
        yield* Effect.logInfo("limit refusal").pipe(Effect.annotateLogs({ agentId, limit }))
      }).pipe(Effect.orDie)

    /** A refusal decided without the database, and how to account for it. */
    interface PureRefusal {
      readonly refusal: QuietHours | ContactLimit | RateLimited
      readonly breach?: {
        readonly limit: LimitName | "contact_per_day"
        readonly details: Readonly<Record<string, string | number | boolean | null>>
      }
    }

    const admit = (
      state: GuardState,
      action: OutboundAction
    ): Effect.Effect<readonly [Admission, GuardState], Refusal> =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const { agentId, limits } = state
        const location = action.channel === "email" ? NO_LOCATION : locateNumber(action.to)
        const transactional = action.transactional === true
        const screen: ScreenRequest = {
          agentId,
          channel: action.channel,
          to: action.to,
          // internal recipients and transactional replies skip DNC and quiet hours
          internal: action.toAgentId !== null || transactional,
          location
        }
        const today = Spend.utcDayStart(now)
        const calls = state.callDay === today ? state.calls : EMPTY_CALLS
        // anti-harassment: today's calls and messages per recipient, counted under "call:<n>" / "msg:<n>"
        const isCall = action.channel === "voice"
        const callTo = `${isCall ? "call" : "msg"}:${normalizeContact(action.to)}`
        const contactCap = isCall ? limits.maxCallsPerDayToSameNumber : config.limits.maxMessagesPerDaySameContact

        // reservations of a dead incarnation whose TTL passed: release their spend
        let spend = Spend.rollover(state.spend, now)
        let pending = state.pending
        for (const [id, r] of state.pending) {
          if (r.orphan && r.at + RESERVATION_TTL_MS <= now) {
            pending = without(pending, id, EMPTY_PENDING)
            spend = Spend.release(spend, r.cost)
          }
        }
        const actions = Windows.prune(state.actions, now)
        const window = Windows.check(actions, windowLimits(limits), now)
        const estimate = prices.estimate({
          kind: action.kind,
          channel: action.channel,
          body: action.body,
          country: location.country,
          provider: action.provider,
          mediaCount: action.mediaCount,
          template: action.template,
          estimatedMinutes: action.estimatedMinutes,
          maxCallMinutes: limits.maxCallDurationMinutes
        })

        // The checks that need no database, in the guard's order after the lists:
        // quiet hours → contact cap → rate windows → spending caps.
        const pureRefusal = ((): PureRefusal | undefined => {
          const quiet = compliance.quietVerdict(screen, now)
          if (quiet !== undefined) return { refusal: quiet }
          if (!transactional && (calls.get(callTo) ?? 0) >= contactCap) {
            const retryAfterSeconds = secondsCeil(Spend.nextUtcDay(now) - now)
            return {
              refusal: new ContactLimit({
                message: `anti-harassment limit: ${contactCap} ${isCall ? "calls" : "messages"} per day to the same ` +
                  `recipient reached; retry in ${retryAfterSeconds} s`,
                retryAfterSeconds
              }),
              breach: {
                limit: "contact_per_day",
                details: { limitValue: contactCap, kind: isCall ? "call" : "message", retryAfterSeconds }
              }
            }
          }
          if (!window.ok) {
            const retryAfterSeconds = secondsCeil(window.retryAfterMs)
            return {
              refusal: new RateLimited({
                message: `rate limit: ${window.limit} actions ${window.window.replace("_", " ")} reached; ` +
                  `retry in ${retryAfterSeconds} s`,
                reason: window.window,
                retryAfterSeconds,
                remaining: 0
              }),
              breach: { limit: window.window, details: { limitValue: window.limit, retryAfterSeconds } }
            }
          }
          const caps = { day: fromUsd(limits.maxSpendPerDay), month: fromUsd(limits.maxSpendPerMonth) }
          const money = Spend.checkSpend(spend, estimate.cost, caps, now)
          if (!money.ok) {
            const retryAfterSeconds = secondsCeil(money.retryAfterMs)
            return {
              refusal: new RateLimited({
                message: `spending cap: ${usd(money.capMicros)} per ${money.cap === "spend_per_day" ? "day" : "month"} ` +
                  `reached; retry in ${retryAfterSeconds} s`,
                reason: money.cap,
                retryAfterSeconds,
                remaining: 0
              }),
              breach: {
                limit: money.cap,
                details: { limitValue: toUsd(money.capMicros), retryAfterSeconds, estimatedCost: toUsd(estimate.cost) }
              }
            }
          }
          return undefined
        })()

        if (pureRefusal !== undefined) {
          // opt-out and DNC come first in the order: look them up before reporting anything else
          if (!transactional) yield* compliance.screenLists(screen)
          if (pureRefusal.breach !== undefined) {
            yield* recordBreach(agentId, pureRefusal.breach.limit, now, pureRefusal.breach.details)
          }
          return yield* pureRefusal.refusal
        }

        // Everything else passes: check the lists and reserve in one round trip. The reservation
        // row is written only if the recipient is on neither list.
        const reservationId = action.reservationId ?? randomUUID()
        const [row] = yield* sql`WITH flags AS (${compliance.listFlags(screen)}),
            reserved AS (
              INSERT INTO action_events (id, agent_id, at, kind, channel, contact, reserved_cost, status)
              SELECT ${reservationId}, ${agentId}, ${new Date(now)}, ${action.kind}, ${action.channel}, ${callTo},
                ${microsToDecimal(estimate.cost)}, 'reserved'
              FROM flags WHERE ${transactional} OR (NOT opted_out AND NOT dnc)
              RETURNING id
            )
          SELECT opted_out, dnc FROM flags`.pipe(Effect.flatMap(compliance.decodeFlags), Effect.orDie)
        const listed = transactional ? undefined : compliance.listsVerdict(row)
        if (listed !== undefined) return yield* listed

        const nextPending = new Map(pending)
        nextPending.set(reservationId, { cost: estimate.cost, at: now, callTo, orphan: false })
        const nextCalls = new Map(calls).set(callTo, (calls.get(callTo) ?? 0) + 1)
        const next: GuardState = {
          agentId,
          limits,
          actions: Windows.add(actions, now),
          spend: Spend.reserve(spend, estimate.cost),
          pending: nextPending,
          callDay: today,
          calls: nextCalls,
          asOf: now
        }
        const admission: Admission = {
          reservationId,
          reservedCost: toUsd(estimate.cost),
          remaining: window.ok ? window.remaining : 0,
          at: now,
          estimate,
          country: location.country ?? null
        }
        return [admission, next] as const
      }).pipe(Effect.withSpan("AgentGuard.admit", { attributes: { agentId: state.agentId, channel: action.channel } }))

    const settle = (state: GuardState, admission: Admission, outcome: SettleOutcome) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const id = admission.reservationId
        const reservation = state.pending.get(id)
        let spend = Spend.rollover(state.spend, now)
        let { actions, calls } = state
        const pending = without(state.pending, id, EMPTY_PENDING)
        if (reservation !== undefined) spend = Spend.release(spend, reservation.cost)

        if (outcome.ok) {
          const cost = fromUsd(outcome.actualCost)
          const metadata = JSON.stringify({
            ...(admission.country !== null ? { country: admission.country } : {}),
            ...(admission.estimate.segments !== undefined ? { segments: admission.estimate.segments.segments } : {}),
            ...outcome.metadata
          })
          const at = new Date(now)
          const contact = reservation?.callTo?.replace(/^(call|msg):/, "") ?? ""
          // one statement: the reservation settles, the usage is logged once (id = reservation id),
          // and the contact's daily count moves only when the log row is new
          const counted = contact.length > 0
            ? sql`, counted AS (
                INSERT INTO contact_frequency (agent_id, contact_number, channel, action_date)
                SELECT ${state.agentId}, ${contact}, ${outcome.channel}, ${at.toISOString().slice(0, 10)} FROM logged
                ON CONFLICT (agent_id, contact_number, channel, action_date)
                DO UPDATE SET action_count = contact_frequency.action_count + 1
              )`
            : sql``
          const inserted = yield* sql`WITH settled AS (
              UPDATE action_events SET status = 'settled', actual_cost = ${microsToDecimal(cost)}, settled_at = ${at}
              WHERE id = ${id} AND status IN ('reserved', 'expired') RETURNING id
            ), logged AS (
              INSERT INTO usage_logs (id, agent_id, action_type, channel, cost, provider, external_id, metadata, created_at)
              VALUES (${id}, ${state.agentId}, ${outcome.actionType}, ${outcome.channel}, ${microsToDecimal(cost)},
                ${outcome.provider}, ${outcome.externalId}, ${metadata}, ${at})
              ON CONFLICT (id) DO NOTHING RETURNING id
            )${counted}
            SELECT id FROM logged`
          // logged now (not a repeated settle): it counts as spent
          if (inserted.length > 0) spend = Spend.book(spend, cost)
        } else {
          yield* sql`UPDATE action_events SET status = 'failed', settled_at = ${new Date(now)}
            WHERE id = ${id} AND status = 'reserved'`
          if (reservation !== undefined) {
            // nothing went out: the rate slot and the call to that number are given back
            actions = Windows.remove(actions, reservation.at)
            if (reservation.callTo !== null && state.callDay === Spend.utcDayStart(reservation.at)) {
              const n = (calls.get(reservation.callTo) ?? 0) - 1
              const next = new Map(calls)
              if (n > 0) next.set(reservation.callTo, n)
              else next.delete(reservation.callTo)
              calls = next.size === 0 ? EMPTY_CALLS : next
            }
          }
        }
        return { ...state, actions, calls, spend, pending, asOf: now } satisfies GuardState
      }).pipe(Effect.orDie, Effect.withSpan("AgentGuard.settle", { attributes: { agentId: state.agentId } }))

    /** Logs a cost that did not come through `admit` (e.g. a call's final minutes) and books it. */
    const recordUsage = (state: GuardState, entry: UsageEntry) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const cost = fromUsd(entry.cost)
        yield* sql`INSERT INTO usage_logs ${
          sql.insert({
            id: randomUUID(),
            agentId: state.agentId,
            actionType: entry.actionType,
            channel: entry.channel,
            cost: microsToDecimal(cost),
            provider: entry.provider,
            externalId: entry.externalId,
            metadata: JSON.stringify(entry.metadata),
            createdAt: new Date(now)
          })
        }`
        return { ...state, spend: Spend.book(Spend.rollover(state.spend, now), cost), asOf: now } satisfies GuardState
      }).pipe(Effect.orDie, Effect.withSpan("AgentGuard.recordUsage", { attributes: { agentId: state.agentId } }))

    /** Actions left in the tightest window at `now` (default: the state's last update). */
    const remaining = (state: GuardState, now: number = state.asOf): number =>
      Windows.remaining(state.actions, windowLimits(state.limits), now)

    /** Window counts and spend (USD) at `now`, for status tools. */
    const usage = (state: GuardState, now: number = state.asOf): GuardUsage => {
      const spend = Spend.rollover(state.spend, now)
      return {
        actionsThisMinute: Windows.countIn(state.actions, Windows.MINUTE_MS, now),
        actionsThisHour: Windows.countIn(state.actions, Windows.HOUR_MS, now),
        actionsToday: Windows.countIn(state.actions, Windows.DAY_MS, now),
        spentToday: toUsd(spend.settledDay),
        spentThisMonth: toUsd(spend.settledMonth),
        reserved: toUsd(spend.reserved)
      }
    }

    /**
     * The state without any per-recipient memory of these spellings of a contact (GDPR erasure:
     * the database rows are gone; the live actor must not keep counting them).
     */
    const forgetContact = (state: GuardState, variants: ReadonlyArray<string>): GuardState => {
      const keys = new Set(
        variants.flatMap((v) => [v, normalizeContact(v)]).flatMap((v) => [`call:${v}`, `msg:${v}`])
      )
      const calls = state.calls.size === 0 ? state.calls : dropFrom(state.calls, (k) => keys.has(k), EMPTY_CALLS)
      let pending = state.pending
      const touched = [...state.pending].filter(([, r]) => r.callTo !== null && keys.has(r.callTo))
      if (touched.length > 0) {
        const next = new Map(state.pending)
        for (const [id, r] of touched) next.set(id, { ...r, callTo: null })
        pending = next
      }
      return calls === state.calls && pending === state.pending ? state : { ...state, calls, pending }
    }

    /** The state with other limits (after `AgentLimits.set`, inside the actor). */
    const withLimits = (state: GuardState, limits: EffectiveLimits): GuardState => ({ ...state, limits })

    /** Re-reads the agent's limits from the database. */
    const reloadLimits = (state: GuardState) => Effect.map(agentLimits.get(state.agentId), (l) => withLimits(state, l))

    /** Inbound STOP/START/HELP handling (see `Compliance.handleInboundKeyword`). */
    const handleInboundKeyword = (
      agentId: AgentId,
      contact: string,
      channel: string,
      body: string
    ): Effect.Effect<Option.Option<{ readonly reply: string; readonly action: KeywordAction }>> =>
      compliance.handleInboundKeyword(agentId, contact, channel, body)

    return {
      load,
      initialState,
      admit,
      settle,
      recordUsage,
      remaining,
      usage,
      withLimits,
      reloadLimits,
      forgetContact,
      handleInboundKeyword
    } as const
  }),
  dependencies: [Compliance.Default, PriceTable.Default, AgentLimits.Default]
}) {}
