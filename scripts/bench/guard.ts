/**
 * Guard micro-benchmark (in-memory PGlite):
 *
 * 1. µs per admit + settle on the full guard path (opt-out + DNC lookup, quiet hours, contact cap,
 *    sliding windows, spend check, reservation insert, settle = usage_logs insert + ledger update),
 *    next to the floor of the same database: one `SELECT 1` and one single-row INSERT.
 * 2. Heap bytes per idle GuardState at 10,000 agents (states made by `load`, i.e. after the DB round
 *    trips an actor start does), measured as the heapUsed delta after GC.
 *   node --expose-gc --import tsx scripts/bench/guard.ts
 *
 * Heap per idle agent (the whole actor, not only its GuardState) is scripts/bench/memory.ts.
 *
 * Internal APIs used: `AgentGuard` (`load`, `admit`, `settle`, `initialState`), `UsageDashboard.setLimits`,
 * `Database.layerPglite`, `Migrations`.
 *
 * Environment: GUARD_BENCH_N (admit+settle pairs, default 5000), GUARD_BENCH_AGENTS (idle states,
 * default 10000; 0 skips part 2).
 *
 * Prints readable lines, then one line `GUARD_JSON {...}` with every figure (read by `npm run bench`).
 */
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as TestClock from "effect/TestClock"
import * as TestContext from "effect/TestContext"
import { randomUUID } from "node:crypto"
import { AgentId } from "../../schema/Ids.ts"
import { UsageDashboard } from "../../src/billing/UsageDashboard.ts"
import { AppConfig } from "../../src/config/AppConfig.ts"
import * as Database from "../../src/db/Database.ts"
import * as Migrations from "../../src/db/Migrations.ts"
import guardrails from "../../src/db/migrations/0004_guardrails.ts"
import { AuditLog } from "../../src/observability/AuditLog.ts"
import { type Admission, AgentGuard, type GuardState, type OutboundAction } from "../../src/policy/AgentGuard.ts"
import { type Summary, summarize } from "./stats.ts"

const envInt = (name: string, fallback: number, min = 1): number => {
  const n = Number(process.env[name] ?? fallback)
  return Number.isInteger(n) && n >= min ? n : fallback
}
const N = envInt("GUARD_BENCH_N", 5000)
const IDLE = envInt("GUARD_BENCH_AGENTS", 10_000, 0)
const BUSY_AGENTS = 50
const WARMUP = 300

const gc = (): void => {
  const g = (globalThis as { gc?: () => void }).gc
  if (g === undefined) throw new Error("run with node --expose-gc")
  g()
  g()
}

const migrate = Migrator.make({})({
  loader: Migrator.fromRecord({ ...Migrations.migrations, "0004_guardrails": guardrails }),
  table: Migrations.table
})
const Db = Layer.effectContext(Effect.zipRight(migrate, Effect.context<SqlClient.SqlClient>())).pipe(
  Layer.provide(Database.layerPglite(undefined))
)
const Live = Layer.mergeAll(AgentGuard.Default, UsageDashboard.Default).pipe(
  Layer.provideMerge(AuditLog.Default),
  Layer.provideMerge(Layer.merge(Db, AppConfig.Default)),
  Layer.provide(Layer.mergeAll(
    Layer.setConfigProvider(ConfigProvider.fromMap(new Map([
      ["DATA_DIR", ":memory:"],
      ["DEMO_MODE", "true"],
      // every admit goes to the same number: the per-recipient daily message cap out of the way
      ["DEFAULT_MAX_MESSAGES_PER_DAY_SAME_CONTACT", "1000000"]
    ]))),
    Logger.minimumLogLevel(LogLevel.None)
  ))
)

/** Times `n` runs of `op` (µs each). */
const time = <E, R>(n: number, op: (i: number) => Effect.Effect<unknown, E, R>) =>
  Effect.gen(function*() {
    const latencies: Array<number> = []
    const start = performance.now()
    for (let i = 0; i < n; i++) {
      const t = performance.now()
      yield* op(i)
      latencies.push((performance.now() - t) * 1000)
    }
    return summarize(latencies, performance.now() - start)
  })

const line = (label: string, s: Summary) =>
  `${label.padEnd(34)} mean ${s.mean.toFixed(1).padStart(7)} µs   p50 ${s.p50.toFixed(1).padStart(7)} µs   p99 ${
    s.p99.toFixed(1).padStart(7)
  } µs   (${s.n} ops)`

const program = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const guard = yield* AgentGuard
  const dashboard = yield* UsageDashboard
  // 12:00 in New York, 09:00 in California: every phone check runs and passes
  yield* TestClock.setTime(Date.UTC(2026, 0, 15, 17, 0))

  // ── 1. admit + settle ──
  const busy: Array<AgentId> = Array.from({ length: BUSY_AGENTS }, (_, i) => AgentId.make(`bench-busy-${i}`))
  yield* sql`INSERT INTO agent_channels ${sql.insert(busy.map((agentId) => ({ agentId, displayName: agentId })))}`
  for (const id of busy) {
    yield* dashboard.setLimits(id, {
      maxActionsPerMinute: 1_000_000,
      maxActionsPerHour: 1_000_000,
      maxActionsPerDay: 1_000_000,
      maxSpendPerDay: 1_000_000,
      maxSpendPerMonth: 1_000_000
    })
  }
  const states: Array<GuardState> = []
  for (const id of busy) states.push(yield* guard.load(id))
  const action: OutboundAction = {
    kind: "message",
    channel: "sms",
    to: "+12125550142",
    toAgentId: null,
    body: "Your appointment is confirmed for Tuesday at 10:00. Reply STOP to opt out."
  }
  const pair = (i: number) =>
    Effect.gen(function*() {
      const k = i % BUSY_AGENTS
      const state = states[k] as GuardState
      const [admission, next] = yield* guard.admit(state, action)
      states[k] = yield* guard.settle(next, admission, settled(admission))
    })
  const settled = (admission: Admission) => ({
    ok: true as const,
    provider: "sandbox",
    externalId: null,
    actualCost: admission.reservedCost,
    channel: "sms",
    actionType: "send_sms",
    metadata: {}
  })
  yield* time(WARMUP, pair)
  const floorSelect = yield* time(N, () => sql`SELECT 1`)
  const floorInsert = yield* time(N, () =>
    sql`INSERT INTO usage_logs ${
      sql.insert({
        id: randomUUID(),
        agentId: busy[0] as string,
        actionType: "floor",
        channel: "sms",
        cost: "0",
        provider: "floor"
      })
    }`)
  // admit and settle timed separately, same work as `pair`
  const admitLat: Array<number> = []
  const settleLat: Array<number> = []
  const splitStart = performance.now()
  for (let i = 0; i < N; i++) {
    const k = i % BUSY_AGENTS
    const t0 = performance.now()
    const [admission, next] = yield* guard.admit(states[k] as GuardState, action)
    const t1 = performance.now()
    states[k] = yield* guard.settle(next, admission, settled(admission))
    admitLat.push((t1 - t0) * 1000)
    settleLat.push((performance.now() - t1) * 1000)
  }
  const splitMs = performance.now() - splitStart
  const admitOnly = summarize(admitLat, splitMs)
  const settleOnly = summarize(settleLat, splitMs)
  const pairs = yield* time(N, pair)
  const emailPairs = yield* time(N, (i) =>
    Effect.gen(function*() {
      const k = i % BUSY_AGENTS
      const [admission, next] = yield* guard.admit(states[k] as GuardState, {
        kind: "message",
        channel: "email",
        to: "someone@example.com",
        toAgentId: null,
        body: "hi"
      })
      states[k] = yield* guard.settle(next, admission, settled(admission))
    }))

  // ── 2. heap per idle GuardState ──
  const ids: Array<AgentId> = Array.from({ length: IDLE }, (_, i) => AgentId.make(`bench-idle-${i}`))
  for (let i = 0; i < ids.length; i += 1000) {
    yield* sql`INSERT INTO agent_channels ${
      sql.insert(ids.slice(i, i + 1000).map((agentId) => ({ agentId, displayName: agentId })))
    }`
  }
  const held: Array<GuardState> = new Array(IDLE)
  gc()
  const before = process.memoryUsage().heapUsed
  const loadStart = performance.now()
  for (let i = 0; i < ids.length; i++) held[i] = yield* guard.load(ids[i] as AgentId)
  const loadMs = performance.now() - loadStart
  gc()
  const after = process.memoryUsage().heapUsed
  const perIdle = (after - before) / IDLE

  // same, for states that each hold a day of 20 actions and one pending reservation
  const warm: Array<GuardState> = new Array(Math.min(1000, IDLE))
  gc()
  const beforeWarm = process.memoryUsage().heapUsed
  for (let i = 0; i < warm.length; i++) {
    let s = guard.initialState(ids[i] as AgentId, (held[i] as GuardState).limits, Date.UTC(2026, 0, 15, 17, 0))
    s = { ...s, actions: Array.from({ length: 20 }, (_, j) => Date.UTC(2026, 0, 15, 16, j)) }
    warm[i] = s
  }
  gc()
  const perWarm = (process.memoryUsage().heapUsed - beforeWarm) / warm.length

  // keep the states reachable until measured
  void held.length
  void warm.length
  return {
    n: N,
    floorSelect,
    floorInsert,
    admit: admitOnly,
    settle: settleOnly,
    admitSettle: pairs,
    admitSettleEmail: emailPairs,
    idleStates: IDLE,
    heapPerGuardState: perIdle,
    loadUsPerAgent: (loadMs * 1000) / IDLE,
    warmStates: warm.length,
    heapPerWarmGuardState: perWarm
  }
})

type GuardFigures = Effect.Effect.Success<typeof program>

const main = async () => {
  const g: GuardFigures = await Effect.runPromise(
    program.pipe(Effect.provide(Layer.merge(Live, TestContext.TestContext)), Effect.scoped)
  )
  const out = [
    `guard bench — in-memory PGlite, Node ${process.version}, ${N} ops per row`,
    line("floor: SELECT 1", g.floorSelect),
    line("floor: INSERT one usage_logs row", g.floorInsert),
    line("admit (SMS, US number)", g.admit),
    line("settle (ok → usage_logs)", g.settle),
    line("admit + settle (SMS, US number)", g.admitSettle),
    line("admit + settle (email)", g.admitSettleEmail),
    `heap per idle GuardState (${IDLE} agents, via load): ${g.heapPerGuardState.toFixed(0)} bytes ` +
    `(load: ${g.loadUsPerAgent.toFixed(0)} µs per agent)`,
    `heap per GuardState holding 20 window entries (${g.warmStates}): ${g.heapPerWarmGuardState.toFixed(0)} bytes`
  ]
  process.stdout.write(out.join("\n") + "\n")
  process.stdout.write(`GUARD_JSON ${JSON.stringify(g)}\n`)
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`guard bench failed: ${String(error)}\n`)
    process.exit(1)
  }
)
