/**
 * Data behind `comms_get_usage_dashboard` and `comms_set_agent_limits` (plain service methods; the
 * tool layer decides who may call them: the all-agents view and limit changes need the master token).
 *
 * Totals are computed in SQL from `usage_logs` (one GROUPING SETS query gives the per-channel,
 * per-agent and overall sums), exact in NUMERIC and rounded to 6 decimals on the way out.
 * Channels are bucketed as the spec's dashboard shows them: `call` = voice-channel rows whose
 * action_type is a call (`make_call`, `call_minutes`, `transfer_call`); `voice` = the other voice
 * rows (voice messages, TTS); sms / whatsapp / email as logged. Rows of any other channel count in
 * the totals only. Periods are UTC calendar periods ending now (see `UsagePeriod`).
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { Fragment } from "@effect/sql/Statement"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { NotFound } from "../../schema/Errors.ts"
import type { AgentId } from "../../schema/Ids.ts"
import * as Spend from "../policy/Spend.ts"
import { AgentLimits, LimitsRow } from "./Limits.ts"
import { decimalToMicros, toUsd } from "./PriceTable.ts"
import type { AgentUsage, EffectiveLimits, LimitsPatch, UsageDashboardOutput, UsagePeriod } from "../../schema/tools/Usage.ts"

/** `usage_logs.action_type` values bucketed as `call` on the voice channel. */
export const CALL_ACTION_TYPES: ReadonlyArray<string> = ["make_call", "call_minutes", "transfer_call"]

export const DASHBOARD_CHANNELS = ["sms", "whatsapp", "email", "voice", "call"] as const
export type DashboardChannel = (typeof DASHBOARD_CHANNELS)[number]

/** Start (epoch ms) of a period ending at `now`; null = everything. */
export const periodStart = (period: UsagePeriod, now: number): number | null => {
  switch (period) {
    case "today":
      return Spend.utcDayStart(now)
    case "week":
      return Spend.utcWeekStart(now)
    case "month":
      return Spend.utcMonthStart(now)
    case "all":
      return null
  }
}

const Num = Schema.Union(Schema.Number, Schema.NumberFromString)
const Money = Schema.Union(Schema.Number, Schema.String)
const SumRow = Schema.Struct({
  agentId: Schema.NullOr(Schema.String),
  bucket: Schema.NullOr(Schema.String),
  level: Num,
  actions: Num,
  cost: Money
})
const AgentRow = Schema.Struct({
  ...LimitsRow.fields,
  displayName: Schema.NullOr(Schema.String),
  status: Schema.Literal("active", "deprovisioned")
})
const HitsRow = Schema.Struct({ agentId: Schema.String, hits: Num })
const GlobalRow = Schema.Struct({ activeAgents: Num, poolSlotsUsed: Num })

const usd6 = (cost: string | number) => toUsd(decimalToMicros(cost))
const zeroCounts = (): Record<DashboardChannel, number> => ({ sms: 0, whatsapp: 0, email: 0, voice: 0, call: 0 })
const isDashboardChannel = (s: string | null): s is DashboardChannel =>
  s !== null && (DASHBOARD_CHANNELS as ReadonlyArray<string>).includes(s)

export interface DashboardQuery {
  /** One agent; undefined = every agent (active, or with usage or refusals in the period). */
  readonly agentId?: AgentId | undefined
  readonly period?: UsagePeriod | undefined
}

export class UsageDashboard extends Effect.Service<UsageDashboard>()("app/billing/UsageDashboard", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const limits = yield* AgentLimits
    const decodeSums = Schema.decodeUnknown(Schema.Array(SumRow))
    const decodeAgents = Schema.decodeUnknown(Schema.Array(AgentRow))
    const decodeHits = Schema.decodeUnknown(Schema.Array(HitsRow))
    const decodeGlobal = Schema.decodeUnknown(Schema.Array(GlobalRow))

    const dashboard = (query: DashboardQuery) =>
      Effect.gen(function*() {
        const period = query.period ?? "today"
        const now = yield* Clock.currentTimeMillis
        const start = periodStart(period, now)
        const to = new Date(now)
        const from = start === null ? null : new Date(start)
        const agentFilter = (column: string): Fragment =>
          query.agentId === undefined ? sql`` : sql`AND ${sql(column)} = ${query.agentId}`
        const since = (column: string): Fragment => (from === null ? sql`` : sql`AND ${sql(column)} >= ${from}`)

        const agents = yield* sql`SELECT a.agent_id, a.display_name, a.status,
            l.max_per_minute, l.max_per_hour, l.max_per_day, l.max_spend_per_day, l.max_spend_per_month,
            l.max_call_duration_minutes, l.max_calls_per_day_same_number
          FROM agent_channels a LEFT JOIN spending_limits l ON l.agent_id = a.agent_id
          WHERE true ${agentFilter("a.agent_id")} ${
          query.agentId !== undefined ? sql`` : sql`AND (a.status = 'active'
              OR EXISTS (SELECT 1 FROM usage_logs u WHERE u.agent_id = a.agent_id ${since("u.created_at")}
                         AND u.created_at <= ${to})
              OR EXISTS (SELECT 1 FROM limit_hits h WHERE h.agent_id = a.agent_id ${
            from === null ? sql`` : sql`AND h.hit_date >= ${isoDate(start ?? 0)}`
          }))`
        }
          ORDER BY a.agent_id`.pipe(Effect.flatMap(decodeAgents))
        if (query.agentId !== undefined && agents.length === 0) {
          return yield* new NotFound({ message: `agent ${query.agentId} is not provisioned` })
        }

        const sums = yield* sql`SELECT agent_id, bucket, GROUPING(agent_id, bucket) AS level,
            count(*) AS actions, coalesce(sum(cost), 0) AS cost
          FROM (
            SELECT agent_id, cost,
              CASE WHEN channel = 'voice' AND action_type IN ${sql.in(CALL_ACTION_TYPES)} THEN 'call'
                   WHEN channel IN ('sms', 'whatsapp', 'email', 'voice') THEN channel
                   ELSE 'other' END AS bucket
            FROM usage_logs
            WHERE created_at <= ${to} ${since("created_at")} ${agentFilter("agent_id")}
          ) u
          GROUP BY GROUPING SETS ((agent_id, bucket), (agent_id), ())`.pipe(Effect.flatMap(decodeSums))

        const hits = yield* sql`SELECT agent_id, sum(hits) AS hits FROM limit_hits
          WHERE limit_name <> 'contact_per_day' ${
          from === null ? sql`` : sql`AND hit_date >= ${isoDate(start ?? 0)}`
        } ${agentFilter("agent_id")}
          GROUP BY agent_id`.pipe(Effect.flatMap(decodeHits))

        const [global] = yield* sql`SELECT
            (SELECT count(*) FROM agent_channels WHERE status = 'active') AS active_agents,
            (SELECT coalesce(max(active_agents), 0) FROM agent_pool) AS pool_slots_used`.pipe(
          Effect.flatMap(decodeGlobal)
        )

        const perAgent = new Map<string, { actions: number; cost: number; byChannel: Record<DashboardChannel, number>; costs: Record<DashboardChannel, number> }>()
        const entry = (agentId: string) => {
          let e = perAgent.get(agentId)
          if (e === undefined) {
            e = { actions: 0, cost: 0, byChannel: zeroCounts(), costs: zeroCounts() }
            perAgent.set(agentId, e)
          }
          return e
        }
        let totalActions = 0
        let totalCost = 0
        for (const row of sums) {
          if (row.level === 3) {
            totalActions = row.actions
            totalCost = usd6(row.cost)
          } else if (row.agentId !== null && row.level === 1) {
            const e = entry(row.agentId)
            e.actions = row.actions
            e.cost = usd6(row.cost)
          } else if (row.agentId !== null && row.level === 0 && isDashboardChannel(row.bucket)) {
            const e = entry(row.agentId)
            e.byChannel[row.bucket] = row.actions
            e.costs[row.bucket] = usd6(row.cost)
          }
        }
        const hitsByAgent = new Map(hits.map((h) => [h.agentId, h.hits] as const))

        const list: Array<AgentUsage> = agents.map((a) => {
          const l: EffectiveLimits = limits.fromRow(a)
          const u = perAgent.get(a.agentId)
          return {
            agentId: a.agentId,
            displayName: a.displayName ?? a.agentId,
            status: a.status,
            totalActions: u?.actions ?? 0,
            actionsByChannel: u?.byChannel ?? zeroCounts(),
            totalCost: u?.cost ?? 0,
            costByChannel: u?.costs ?? zeroCounts(),
            rateLimitHits: hitsByAgent.get(a.agentId) ?? 0,
            currentLimits: {
              maxPerMinute: l.maxActionsPerMinute,
              maxPerHour: l.maxActionsPerHour,
              maxPerDay: l.maxActionsPerDay,
              maxSpendPerDay: l.maxSpendPerDay,
              maxSpendPerMonth: l.maxSpendPerMonth,
              maxCallDurationMinutes: l.maxCallDurationMinutes,
              maxCallsPerDayToSameNumber: l.maxCallsPerDayToSameNumber
            }
          }
        })
        return {
          period,
          periodStart: from === null ? null : from.toISOString(),
          generatedAt: to.toISOString(),
          agents: list,
          globalTotals: {
            totalActions,
            totalCost,
            activeAgents: global?.activeAgents ?? 0,
            poolSlotsUsed: global?.poolSlotsUsed ?? 0
          }
        } satisfies UsageDashboardOutput
      }).pipe(
        Effect.catchTags({ ParseError: Effect.die, SqlError: Effect.die }),
        Effect.withSpan("UsageDashboard.dashboard")
      )

    /** Upserts the agent's limits (validated); returns the limits now in effect. */
    const setLimits = (agentId: AgentId, patch: LimitsPatch) =>
      Effect.map(limits.set(agentId, patch), ({ limits, updatedAt }) => ({
        agentId,
        limits,
        updatedAt: updatedAt.toISOString()
      }))

    const getLimits = (agentId: AgentId) => limits.get(agentId)

    return { dashboard, setLimits, getLimits } as const
  }),
  dependencies: [AgentLimits.Default]
}) {}

const isoDate = (ms: number) => new Date(ms).toISOString().slice(0, 10)
