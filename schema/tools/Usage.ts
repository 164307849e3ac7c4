/**
 * Proposed MCP tool schemas for `comms_get_usage_dashboard` and `comms_set_agent_limits`
 * (spec "MCP Tools Exposed" 9 and 10). They live here until the tool layer moves them to
 * `schema/tools/`. Integer fields use `Schema.Number.pipe(Schema.int())` (not `Schema.Int`) so
 * the generated JSON Schema is inlined, without `$ref`.
 */
import * as Schema from "effect/Schema"
import { NonNegativeInt, SecurityTokenField } from "../Domain.ts"
import { AgentId } from "../Ids.ts"

// ── Limits ──────────────────────────────────────────────────────────────────────────────────

const count = (max: number, description: string) =>
  Schema.Number.pipe(Schema.int(), Schema.between(1, max)).annotations({ description })

/** True for an amount in whole cents (float-tolerant). */
export const isCents = (n: number) => Math.abs(Math.round(n * 100) - n * 100) < 1e-6
const money = (description: string) =>
  Schema.Number.pipe(
    Schema.finite(),
    Schema.between(0, 1_000_000),
    Schema.filter(isCents, { message: () => "expected an amount in whole cents (at most 2 decimals)" })
  ).annotations({ description })

/** Bounds shared by the schema and the service-level validation. */
export const LIMIT_BOUNDS = {
  maxActionsPerMinute: 1_000_000,
  maxActionsPerHour: 1_000_000,
  maxActionsPerDay: 1_000_000,
  maxCallDurationMinutes: 240,
  maxCallsPerDayToSameNumber: 1_000,
  money: 1_000_000
} as const

const limitFields = {
  maxActionsPerMinute: count(LIMIT_BOUNDS.maxActionsPerMinute, "Burst protection: actions per sliding minute (default 10)"),
  maxActionsPerHour: count(LIMIT_BOUNDS.maxActionsPerHour, "Sustained cap: actions per sliding hour (default 100)"),
  maxActionsPerDay: count(LIMIT_BOUNDS.maxActionsPerDay, "Daily cap: actions per sliding 24 hours (default 500)"),
  maxSpendPerDay: money("USD per UTC day (default 10.00); 0 blocks every paid action"),
  maxSpendPerMonth: money("USD per UTC calendar month (default 100.00)"),
  maxCallDurationMinutes: count(LIMIT_BOUNDS.maxCallDurationMinutes, "Longest call in minutes (default 10)"),
  maxCallsPerDayToSameNumber: count(
    LIMIT_BOUNDS.maxCallsPerDayToSameNumber,
    "Anti-harassment: calls per UTC day to one number (default 2)"
  )
}

/** Every limit of an agent, as in effect (the agent's own value or the server default). */
export const EffectiveLimits = Schema.Struct(limitFields)
export type EffectiveLimits = typeof EffectiveLimits.Type

/** A change of limits: omitted fields keep their current value. */
export const LimitsPatch = Schema.Struct({
  maxActionsPerMinute: Schema.optional(limitFields.maxActionsPerMinute),
  maxActionsPerHour: Schema.optional(limitFields.maxActionsPerHour),
  maxActionsPerDay: Schema.optional(limitFields.maxActionsPerDay),
  maxSpendPerDay: Schema.optional(limitFields.maxSpendPerDay),
  maxSpendPerMonth: Schema.optional(limitFields.maxSpendPerMonth),
  maxCallDurationMinutes: Schema.optional(limitFields.maxCallDurationMinutes),
  maxCallsPerDayToSameNumber: Schema.optional(limitFields.maxCallsPerDayToSameNumber)
})
export type LimitsPatch = typeof LimitsPatch.Type

// ── comms_set_agent_limits ──────────────────────────────────────────────────────────────────

export const SetAgentLimitsInput = Schema.Struct({
  securityToken: SecurityTokenField,
  agentId: AgentId,
  limits: LimitsPatch.annotations({ description: "Limits to change; omitted ones keep their current value" })
})
export type SetAgentLimitsInput = typeof SetAgentLimitsInput.Type

export const SetAgentLimitsOutput = Schema.Struct({
  agentId: Schema.String,
  limits: EffectiveLimits,
  updatedAt: Schema.String
})
export type SetAgentLimitsOutput = typeof SetAgentLimitsOutput.Type

// ── comms_get_usage_dashboard ───────────────────────────────────────────────────────────────

export const UsagePeriod = Schema.Literal("today", "week", "month", "all").annotations({
  description: "today = since 00:00 UTC; week = since Monday 00:00 UTC; month = since the 1st 00:00 UTC; all = everything"
})
export type UsagePeriod = typeof UsagePeriod.Type

export const GetUsageDashboardInput = Schema.Struct({
  securityToken: SecurityTokenField,
  agentId: Schema.optional(AgentId.annotations({ description: "One agent; omit for all agents (master token)" })),
  period: Schema.optional(UsagePeriod)
})
export type GetUsageDashboardInput = typeof GetUsageDashboardInput.Type

const ChannelCounts = Schema.Struct({
  sms: NonNegativeInt,
  whatsapp: NonNegativeInt,
  email: NonNegativeInt,
  voice: NonNegativeInt,
  call: NonNegativeInt
})
const ChannelCosts = Schema.Struct({
  sms: Schema.Number,
  whatsapp: Schema.Number,
  email: Schema.Number,
  voice: Schema.Number,
  call: Schema.Number
})

export const DashboardLimits = Schema.Struct({
  maxPerMinute: NonNegativeInt,
  maxPerHour: NonNegativeInt,
  maxPerDay: NonNegativeInt,
  maxSpendPerDay: Schema.Number,
  maxSpendPerMonth: Schema.Number,
  maxCallDurationMinutes: NonNegativeInt,
  maxCallsPerDayToSameNumber: NonNegativeInt
})
export type DashboardLimits = typeof DashboardLimits.Type

export const AgentUsage = Schema.Struct({
  agentId: Schema.String,
  displayName: Schema.String,
  status: Schema.Literal("active", "deprovisioned"),
  totalActions: NonNegativeInt,
  actionsByChannel: ChannelCounts,
  /** USD, rounded to 6 decimals (the precision of usage_logs). */
  totalCost: Schema.Number,
  costByChannel: ChannelCosts,
  rateLimitHits: NonNegativeInt.annotations({ description: "Actions refused by a rate window or a spending cap" }),
  currentLimits: DashboardLimits
})
export type AgentUsage = typeof AgentUsage.Type

export const UsageDashboardOutput = Schema.Struct({
  period: UsagePeriod,
  /** ISO start of the period (null for "all"); the end is `generatedAt`. */
  periodStart: Schema.NullOr(Schema.String),
  generatedAt: Schema.String,
  agents: Schema.Array(AgentUsage),
  globalTotals: Schema.Struct({
    /** Over the agents listed (one agent when agentId was given). */
    totalActions: NonNegativeInt,
    totalCost: Schema.Number,
    /** Server-wide. */
    activeAgents: NonNegativeInt,
    poolSlotsUsed: NonNegativeInt
  })
})
export type UsageDashboardOutput = typeof UsageDashboardOutput.Type
