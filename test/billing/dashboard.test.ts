/**
 * comms_get_usage_dashboard / comms_set_agent_limits data logic on PGlite and PostgreSQL: totals
 * equal the sums of usage_logs for random action sequences (fast-check), limits are validated,
 * upserted and fall back to the server defaults; the proposed tool schemas decode and render.
 */
import { describe, expect, it, layer, type Vitest } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as JSONSchema from "effect/JSONSchema"
import type * as Layer from "effect/Layer"
import * as Runtime from "effect/Runtime"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import fc from "fast-check"
import { inject } from "vitest"
import { AgentId } from "../../schema/Ids.ts"
import { fromUsd } from "../../src/billing/PriceTable.ts"
import {
  GetUsageDashboardInput,
  SetAgentLimitsInput,
  SetAgentLimitsOutput,
  UsageDashboardOutput,
  type UsagePeriod
} from "../../schema/tools/Usage.ts"
import { UsageDashboard } from "../../src/billing/UsageDashboard.ts"
import { actionTypeFor, AgentGuard, type OutboundAction } from "../../src/policy/AgentGuard.ts"
import { GuardTest, makeAgent, pglite, postgres } from "../policy/guard-layer.ts"

/** Wednesday 2026-01-21 18:00 UTC. */
const NOW = Date.UTC(2026, 0, 21, 18, 0)
const STARTS: Record<UsagePeriod, number> = {
  today: Date.UTC(2026, 0, 21),
  week: Date.UTC(2026, 0, 19),
  month: Date.UTC(2026, 0, 1),
  all: 0
}
const PERIODS: ReadonlyArray<UsagePeriod> = ["today", "week", "month", "all"]
type Bucket = "sms" | "whatsapp" | "email" | "voice" | "call"
const bucketOf = (channel: string, actionType: string): Bucket =>
  channel === "voice" && actionType === "make_call" ? "call" : channel as Bucket

const env = { DEFAULT_MAX_ACTIONS_PER_MINUTE: "12", DEFAULT_MAX_SPEND_PER_DAY: "7.5" }
type Services = Layer.Layer.Success<ReturnType<typeof GuardTest>>

const suite = (it: Vitest.MethodsNonLive<Services, false>) => {
  it.effect("property: the dashboard's totals equal the sums of usage_logs for random action sequences", () =>
    Effect.gen(function*() {
      const runtime = yield* Effect.runtime<Services>()
      const guard = yield* AgentGuard
      const dashboard = yield* UsageDashboard
      const sql = yield* SqlClient.SqlClient
      const peer = yield* makeAgent("peer")
      const kinds: ReadonlyArray<Omit<OutboundAction, "to" | "toAgentId" | "body">> = [
        { kind: "message", channel: "sms" },
        { kind: "message", channel: "sms", mediaCount: 1 },
        { kind: "message", channel: "whatsapp" },
        { kind: "message", channel: "email" },
        { kind: "call", channel: "voice", estimatedMinutes: 2 },
        { kind: "voice_message", channel: "voice" },
        { kind: "voice_message", channel: "whatsapp" }
      ]
      const actionArb = fc.constantFrom(...kinds)
      const event = fc.record({
        agent: fc.integer({ min: 0, max: 2 }),
        // spread over last month, this month, this week and today
        at: fc.oneof(
          fc.integer({ min: Date.UTC(2025, 11, 20), max: NOW }),
          fc.integer({ min: STARTS.week - 86_400_000, max: NOW }),
          fc.integer({ min: STARTS.today - 3_600_000, max: NOW })
        ),
        action: actionArb,
        ok: fc.boolean(),
        // micro-dollar precision, up to $0.50
        actualMicros: fc.integer({ min: 0, max: 500_000 })
      })
      const property = (events: ReadonlyArray<typeof event extends fc.Arbitrary<infer A> ? A : never>) =>
        Effect.gen(function*() {
          const agents = [yield* makeAgent("dash"), yield* makeAgent("dash"), yield* makeAgent("dash")]
          for (const id of agents) {
            yield* dashboard.setLimits(id, {
              maxActionsPerMinute: 1000,
              maxActionsPerHour: 1000,
              maxActionsPerDay: 1000,
              maxSpendPerDay: 1000,
              maxSpendPerMonth: 1000,
              maxCallsPerDayToSameNumber: 1000
            })
          }
          yield* TestClock.setTime(Date.UTC(2025, 11, 1))
          const states = yield* Effect.all(agents.map((id) => guard.load(id)))
          const expected = new Map<string, Array<{ at: number; bucket: Bucket; micros: number }>>()
          for (const e of [...events].sort((a, b) => a.at - b.at)) {
            yield* TestClock.setTime(e.at)
            const i = e.agent
            const state = states[i]
            const id = agents[i]
            if (state === undefined || id === undefined) continue
            const action: OutboundAction = {
              ...e.action,
              to: e.action.channel === "email" ? "peer@agents.sandbox.test" : "+12125550100",
              toAgentId: peer,
              body: "hello there"
            }
            const admitted = yield* Effect.either(guard.admit(state, action))
            if (Either.isLeft(admitted)) continue
            const [admission, next] = admitted.right
            const actionType = actionTypeFor(action)
            states[i] = yield* guard.settle(next, admission, e.ok
              ? {
                ok: true,
                provider: "sandbox",
                externalId: null,
                actualCost: e.actualMicros / 1_000_000,
                channel: action.channel,
                actionType,
                metadata: {}
              }
              : { ok: false })
            if (e.ok) {
              const list = expected.get(id) ?? []
              list.push({ at: e.at, bucket: bucketOf(action.channel, actionType), micros: e.actualMicros })
              expected.set(id, list)
            }
          }
          yield* TestClock.setTime(NOW)
          for (const period of PERIODS) {
            for (const id of agents) {
              const view = yield* dashboard.dashboard({ agentId: id, period })
              const rows = (expected.get(id) ?? []).filter((r) => r.at >= STARTS[period])
              const agent = view.agents[0]
              expect(view.agents).toHaveLength(1)
              expect(agent?.totalActions).toBe(rows.length)
              expect(fromUsd(agent?.totalCost ?? -1)).toBe(rows.reduce((s, r) => s + r.micros, 0))
              for (const b of ["sms", "whatsapp", "email", "voice", "call"] as const) {
                const inBucket = rows.filter((r) => r.bucket === b)
                expect(agent?.actionsByChannel[b]).toBe(inBucket.length)
                expect(fromUsd(agent?.costByChannel[b] ?? -1)).toBe(inBucket.reduce((s, r) => s + r.micros, 0))
              }
              expect(view.globalTotals.totalActions).toBe(rows.length)
            }
            // all agents: the global totals are the SQL sum of usage_logs in the period
            const all = yield* dashboard.dashboard({ period })
            const [sum] = yield* sql`SELECT count(*) AS n, coalesce(sum(cost), 0) AS total FROM usage_logs
              WHERE created_at >= ${new Date(STARTS[period])} AND created_at <= ${new Date(NOW)}`
            expect(all.globalTotals.totalActions).toBe(Number(sum?.["n"]))
            expect(fromUsd(all.globalTotals.totalCost)).toBe(fromUsd(Number(sum?.["total"])))
            expect(fromUsd(all.agents.reduce((s, a) => s + a.totalCost, 0))).toBe(fromUsd(all.globalTotals.totalCost))
            for (const id of agents) expect(all.agents.map((a) => a.agentId)).toContain(id)
            expect(Schema.is(UsageDashboardOutput)(all)).toBe(true)
          }
        })
      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(fc.array(event, { maxLength: 30 }), (events) => Runtime.runPromise(runtime)(property(events))),
          { numRuns: 15 }
        )
      )
    }), { timeout: 180_000 })

  it.effect("set limits: validated, upserted field by field, defaults from the server config; unknown agents NotFound", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW)
      const dashboard = yield* UsageDashboard
      const guard = yield* AgentGuard
      const id = yield* makeAgent("limits")
      const defaults = yield* dashboard.getLimits(id)
      expect(defaults).toEqual({
        maxActionsPerMinute: 12,
        maxActionsPerHour: 100,
        maxActionsPerDay: 500,
        maxSpendPerDay: 7.5,
        maxSpendPerMonth: 100,
        maxCallDurationMinutes: 10,
        maxCallsPerDayToSameNumber: 2
      })
      const first = yield* dashboard.setLimits(id, { maxActionsPerMinute: 3, maxSpendPerDay: 0 })
      expect(first).toEqual({
        agentId: id,
        limits: { ...defaults, maxActionsPerMinute: 3, maxSpendPerDay: 0 },
        updatedAt: new Date(NOW).toISOString()
      })
      const second = yield* dashboard.setLimits(id, { maxCallsPerDayToSameNumber: 5, maxSpendPerMonth: 12.34 })
      expect(second.limits).toEqual({
        ...defaults,
        maxActionsPerMinute: 3,
        maxSpendPerDay: 0,
        maxCallsPerDayToSameNumber: 5,
        maxSpendPerMonth: 12.34
      })
      expect(Schema.is(SetAgentLimitsOutput)(second)).toBe(true)
      expect((yield* guard.load(id)).limits).toEqual(second.limits)
      // a 0 daily cap blocks every paid action
      const blocked = yield* Effect.flip(
        guard.admit(yield* guard.load(id), { kind: "message", channel: "email", to: "x@example.com", toAgentId: null, body: "" })
      )
      expect(blocked).toMatchObject({ _tag: "RateLimited", reason: "spend_per_day" })

      for (
        const bad of [
          { maxActionsPerMinute: 0 },
          { maxActionsPerHour: 1.5 },
          { maxSpendPerDay: -1 },
          { maxSpendPerDay: 0.001 },
          { maxCallDurationMinutes: 241 }
        ]
      ) {
        expect((yield* Effect.flip(dashboard.setLimits(id, bad)))._tag).toBe("InvalidInput")
      }
      expect((yield* Effect.flip(dashboard.setLimits(AgentId.make("nobody-here"), { maxActionsPerDay: 3 })))._tag).toBe(
        "NotFound"
      )
      expect((yield* Effect.flip(dashboard.dashboard({ agentId: AgentId.make("nobody-here") })))._tag).toBe("NotFound")
    }))

  it.effect("the dashboard lists active agents with no usage, and deprovisioned ones only while they have usage in the period", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW)
      const sql = yield* SqlClient.SqlClient
      const dashboard = yield* UsageDashboard
      const guard = yield* AgentGuard
      const idle = yield* makeAgent("idle")
      const gone = yield* makeAgent("gone")
      yield* TestClock.setTime(NOW - 2 * 86_400_000) // Monday: this week, not today
      yield* guard.recordUsage(yield* guard.load(gone), {
        provider: "sandbox",
        externalId: null,
        cost: 0.25,
        channel: "voice",
        actionType: "call_minutes",
        metadata: { seconds: 120 }
      })
      yield* TestClock.setTime(NOW)
      yield* sql`UPDATE agent_channels SET status = 'deprovisioned' WHERE agent_id = ${gone}`
      const week = yield* dashboard.dashboard({ period: "week" })
      const today = yield* dashboard.dashboard({ period: "today" })
      expect(week.agents.find((a) => a.agentId === idle)).toMatchObject({ totalActions: 0, status: "active" })
      expect(week.agents.find((a) => a.agentId === gone)).toMatchObject({
        status: "deprovisioned",
        totalCost: 0.25,
        costByChannel: { call: 0.25 },
        actionsByChannel: { call: 1 }
      })
      expect(today.agents.find((a) => a.agentId === gone)).toBeUndefined()
      expect(week.periodStart).toBe(new Date(STARTS.week).toISOString())
      expect((yield* dashboard.dashboard({ period: "all" })).periodStart).toBeNull()
      expect(week.agents.find((a) => a.agentId === idle)?.currentLimits).toMatchObject({
        maxPerMinute: 12,
        maxPerDay: 500,
        maxSpendPerDay: 7.5
      })
    }))
}

const options = { timeout: 180_000 }
layer(GuardTest(pglite, env), options)("dashboard on PGlite", suite)
layer(GuardTest(postgres(inject("pgUrl")), env), options)("dashboard on PostgreSQL", suite)

describe("proposed tool schemas", () => {
  it("decode valid input, reject bad values, and render JSON Schema without a top-level $ref/anyOf", () => {
      const decodeSet = Schema.decodeUnknownEither(SetAgentLimitsInput, { onExcessProperty: "error" })
      expect(Either.isRight(decodeSet({ agentId: "a1", limits: { maxActionsPerMinute: 5, maxSpendPerDay: 2.5 } }))).toBe(true)
      for (const limits of [{ maxActionsPerMinute: 0 }, { maxActionsPerMinute: 2.5 }, { maxSpendPerDay: 0.005 }, { maxSpendPerMonth: -3 }, { other: 1 }]) {
        expect(Either.isLeft(decodeSet({ agentId: "a1", limits }))).toBe(true)
      }
      const decodeDash = Schema.decodeUnknownEither(GetUsageDashboardInput)
      expect(decodeDash({ period: "week" })).toEqual(Either.right({ period: "week" }))
      expect(Either.isLeft(decodeDash({ period: "year" }))).toBe(true)
      const rendered: ReadonlyArray<unknown> = [
        JSONSchema.make(SetAgentLimitsInput, { target: "jsonSchema2020-12" }),
        JSONSchema.make(GetUsageDashboardInput, { target: "jsonSchema2020-12" }),
        JSONSchema.make(UsageDashboardOutput, { target: "jsonSchema2020-12" }),
        JSONSchema.make(SetAgentLimitsOutput, { target: "jsonSchema2020-12" })
      ]
      for (const json of rendered as ReadonlyArray<Record<string, unknown>>) {
        expect(json["type"]).toBe("object")
        expect(json["$ref"]).toBeUndefined()
        expect(json["anyOf"]).toBeUndefined()
      expect(JSON.stringify(json)).not.toContain("$ref")
    }
  })
})
