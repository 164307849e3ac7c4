/**
 * An agent's limits: its `spending_limits` row where a column is set, the server default
 * (AppConfig `limits`, DEFAULT_MAX_* variables) where it is NULL or there is no row. Migration
 * 0004 made those columns nullable without defaults, so an agent that never had a limit set
 * follows the server defaults when they change.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { InvalidInput, NotFound } from "../../schema/Errors.ts"
import type { AgentId } from "../../schema/Ids.ts"
import { AppConfig } from "../config/AppConfig.ts"
import { type EffectiveLimits, isCents, LIMIT_BOUNDS, type LimitsPatch } from "../../schema/tools/Usage.ts"

/** The spec's per-call cap default (there is no environment variable for it). */
export const DEFAULT_MAX_CALL_DURATION_MINUTES = 10

const Num = Schema.Union(Schema.Number, Schema.NumberFromString)
/** One `spending_limits` row (NULL = server default). */
export const LimitsRow = Schema.Struct({
  agentId: Schema.String,
  maxPerMinute: Schema.NullOr(Num),
  maxPerHour: Schema.NullOr(Num),
  maxPerDay: Schema.NullOr(Num),
  maxSpendPerDay: Schema.NullOr(Num),
  maxSpendPerMonth: Schema.NullOr(Num),
  maxCallDurationMinutes: Schema.NullOr(Num),
  maxCallsPerDaySameNumber: Schema.NullOr(Num)
})
export type LimitsRow = typeof LimitsRow.Type

export const LIMIT_COLUMNS = `agent_id, max_per_minute, max_per_hour, max_per_day, max_spend_per_day,
  max_spend_per_month, max_call_duration_minutes, max_calls_per_day_same_number`

/** Service-level validation of a patch (the tool schema checks the same; direct callers are checked here). */
export const validatePatch = (patch: LimitsPatch): ReadonlyArray<string> => {
  const problems: Array<string> = []
  const int = (name: keyof typeof LIMIT_BOUNDS, v: number | undefined) => {
    if (v !== undefined && !(Number.isInteger(v) && v >= 1 && v <= LIMIT_BOUNDS[name])) {
      problems.push(`${name} must be an integer between 1 and ${LIMIT_BOUNDS[name]}`)
    }
  }
  const money = (name: string, v: number | undefined) => {
    if (v !== undefined && !(Number.isFinite(v) && v >= 0 && v <= LIMIT_BOUNDS.money && isCents(v))) {
      problems.push(`${name} must be an amount in whole cents between 0 and ${LIMIT_BOUNDS.money}`)
    }
  }
  int("maxActionsPerMinute", patch.maxActionsPerMinute)
  int("maxActionsPerHour", patch.maxActionsPerHour)
  int("maxActionsPerDay", patch.maxActionsPerDay)
  int("maxCallDurationMinutes", patch.maxCallDurationMinutes)
  int("maxCallsPerDayToSameNumber", patch.maxCallsPerDayToSameNumber)
  money("maxSpendPerDay", patch.maxSpendPerDay)
  money("maxSpendPerMonth", patch.maxSpendPerMonth)
  return problems
}

const cents = (usd: number) => Math.round(usd * 100) / 100

export class AgentLimits extends Effect.Service<AgentLimits>()("app/billing/AgentLimits", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const config = yield* AppConfig
    const decode = Schema.decodeUnknown(Schema.Array(LimitsRow))

    /** The server defaults; one shared object (idle agents' states all point at it). */
    const defaults: EffectiveLimits = {
      maxActionsPerMinute: config.limits.maxPerMinute,
      maxActionsPerHour: config.limits.maxPerHour,
      maxActionsPerDay: config.limits.maxPerDay,
      maxSpendPerDay: config.limits.maxSpendPerDay,
      maxSpendPerMonth: config.limits.maxSpendPerMonth,
      maxCallDurationMinutes: DEFAULT_MAX_CALL_DURATION_MINUTES,
      maxCallsPerDayToSameNumber: config.limits.maxCallsPerDaySameNumber
    }

    /** Merges a row (or none) over the defaults; returns `defaults` itself when nothing is set. */
    const fromRow = (row: LimitsRow | undefined): EffectiveLimits => {
      if (row === undefined) return defaults
      const merged: EffectiveLimits = {
        maxActionsPerMinute: row.maxPerMinute ?? defaults.maxActionsPerMinute,
        maxActionsPerHour: row.maxPerHour ?? defaults.maxActionsPerHour,
        maxActionsPerDay: row.maxPerDay ?? defaults.maxActionsPerDay,
        maxSpendPerDay: row.maxSpendPerDay ?? defaults.maxSpendPerDay,
        maxSpendPerMonth: row.maxSpendPerMonth ?? defaults.maxSpendPerMonth,
        maxCallDurationMinutes: row.maxCallDurationMinutes ?? defaults.maxCallDurationMinutes,
        maxCallsPerDayToSameNumber: row.maxCallsPerDaySameNumber ?? defaults.maxCallsPerDayToSameNumber
      }
      const same = (Object.keys(defaults) as Array<keyof EffectiveLimits>).every((k) => merged[k] === defaults[k])
      return same ? defaults : merged
    }

    const get = (agentId: AgentId) =>
      sql`SELECT ${sql.literal(LIMIT_COLUMNS)} FROM spending_limits WHERE agent_id = ${agentId}`.pipe(
        Effect.flatMap(decode),
        Effect.map((rows) => fromRow(rows[0])),
        Effect.orDie,
        Effect.withSpan("AgentLimits.get")
      )

    /**
     * Upserts the agent's `spending_limits` row: the given fields change, the others keep their
     * value (or stay NULL = server default). Money is in whole cents (NUMERIC(10,2)). Fails with NotFound when the
     * agent was never provisioned, InvalidInput when a value is out of range.
     */
    const set = (agentId: AgentId, patch: LimitsPatch) =>
      Effect.gen(function*() {
        const problems = validatePatch(patch)
        if (problems.length > 0) return yield* new InvalidInput({ message: problems.join("; ") })
        const exists = yield* sql`SELECT 1 AS one FROM agent_channels WHERE agent_id = ${agentId}`.pipe(Effect.orDie)
        if (exists.length === 0) return yield* new NotFound({ message: `agent ${agentId} is not provisioned` })
        const now = new Date(yield* Clock.currentTimeMillis)
        const money = (v: number | undefined) => (v === undefined ? null : cents(v).toFixed(2))
        const rows = yield* sql`INSERT INTO spending_limits ${
          sql.insert({
            agentId,
            maxPerMinute: patch.maxActionsPerMinute ?? null,
            maxPerHour: patch.maxActionsPerHour ?? null,
            maxPerDay: patch.maxActionsPerDay ?? null,
            maxSpendPerDay: money(patch.maxSpendPerDay),
            maxSpendPerMonth: money(patch.maxSpendPerMonth),
            maxCallDurationMinutes: patch.maxCallDurationMinutes ?? null,
            maxCallsPerDaySameNumber: patch.maxCallsPerDayToSameNumber ?? null,
            updatedAt: now
          })
        }
          ON CONFLICT (agent_id) DO UPDATE SET
            max_per_minute = COALESCE(EXCLUDED.max_per_minute, spending_limits.max_per_minute),
            max_per_hour = COALESCE(EXCLUDED.max_per_hour, spending_limits.max_per_hour),
            max_per_day = COALESCE(EXCLUDED.max_per_day, spending_limits.max_per_day),
            max_spend_per_day = COALESCE(EXCLUDED.max_spend_per_day, spending_limits.max_spend_per_day),
            max_spend_per_month = COALESCE(EXCLUDED.max_spend_per_month, spending_limits.max_spend_per_month),
            max_call_duration_minutes = COALESCE(EXCLUDED.max_call_duration_minutes, spending_limits.max_call_duration_minutes),
            max_calls_per_day_same_number = COALESCE(EXCLUDED.max_calls_per_day_same_number, spending_limits.max_calls_per_day_same_number),
            updated_at = EXCLUDED.updated_at
          RETURNING ${sql.literal(LIMIT_COLUMNS)}`.pipe(Effect.flatMap(decode), Effect.orDie)
        return { limits: fromRow(rows[0]), updatedAt: now }
      }).pipe(Effect.withSpan("AgentLimits.set", { attributes: { agentId } }))

    return { defaults, fromRow, get, set } as const
  })
}) {}
