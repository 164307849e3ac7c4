/**
 * Heap per idle agent (row "memory" of `npm run bench`), run as a child:
 *
 *   node --expose-gc --import tsx scripts/bench/memory.ts
 *
 * 1. Floor: the least an actor-per-agent design in Effect holds — a Map entry
 *    with a bounded queue and one fiber blocked on `Queue.take`.
 * 2. Ours: BENCH_AGENTS agents (default 10,000) as a provision leaves them
 *    (rows written directly), each started by one status command through the
 *    agent runtime, then left idle (idle TTL one hour). heapUsed delta after
 *    GC / agents.
 *
 * THE ADAPTER: `startIdleAgents` below is the only code that names the agent
 * runtime. When the runtime changes, retarget it (and its layer) here; nothing
 * else in the bench calls the runtime in-process.
 *
 * Prints `MEMORY_JSON {"agents","floorPerAgent","heapPerAgent","startUsPerAgent"}`.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import { TestDomain } from "../../layers/Test.ts"
import { AgentId } from "../../schema/Ids.ts"
import { AgentRuntime } from "../../src/agents/AgentRuntime.ts"
import { GetStatus } from "../../src/agents/Commands.ts"

const n = Number(process.env["BENCH_AGENTS"] ?? "10000")
const AGENTS = Number.isInteger(n) && n > 0 ? n : 10_000
/** Agents started (and kept) before the measured ones, so the code paths are warm. */
const WARM = 200

// ---------------------------------------------------------------------------
// The adapter: the agent runtime as the bench sees it
// ---------------------------------------------------------------------------

/** Everything `startIdleAgents` needs: the sandbox domain on in-memory PGlite, agents idle for an hour. */
const runtimeLayer = (agents: number) =>
  TestDomain({ env: { AGENT_IDLE_SECONDS: "3600", INITIAL_AGENT_POOL_SIZE: String(agents + 10) } })

/**
 * Starts one live, idle agent per id (their `agent_channels` rows exist) and
 * returns how many agents the runtime now holds live. Today: one `GetStatus`
 * per agent through `AgentRuntime.send` (the actor loads its state, answers
 * and stays alive until its TTL); `AgentRuntime.activeAgents` counts them.
 */
const startIdleAgents = (ids: ReadonlyArray<AgentId>) =>
  Effect.gen(function*() {
    const runtime = yield* AgentRuntime
    for (const id of ids) {
      yield* runtime.send(id, new GetStatus()).pipe(
        Effect.catchAll((e) => Effect.dieMessage(`GetStatus(${id}) failed: ${e.message}`))
      )
    }
    return (yield* runtime.activeAgents).length
  })

// ---------------------------------------------------------------------------

const gc = (): void => {
  const g = (globalThis as { gc?: () => void }).gc
  if (g === undefined) throw new Error("run with node --expose-gc")
  g()
  g()
}

const CAPABILITIES = JSON.stringify({ phone: true, whatsapp: false, email: true, voiceAi: false })

const ours = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const total = WARM + AGENTS
  const ids: Array<AgentId> = Array.from({ length: total }, (_, i) => AgentId.make(`bench-agent-${i}`))
  for (let i = 0; i < total; i += 1000) {
    yield* sql`INSERT INTO agent_channels ${
      sql.insert(ids.slice(i, i + 1000).map((agentId, j) => ({
        agentId,
        displayName: "Bench",
        country: "US",
        capabilities: CAPABILITIES,
        phoneNumber: `+1${2_025_550_000 + ((i + j) % 10_000)}`,
        emailAddress: `${agentId}@agents.sandbox.test`,
        systemPrompt: "You are a bench agent",
        greeting: "Hi",
        status: "active"
      })))
    }`
  }
  yield* startIdleAgents(ids.slice(0, WARM))
  gc()
  const before = process.memoryUsage().heapUsed
  const t0 = performance.now()
  const alive = yield* startIdleAgents(ids.slice(WARM))
  const startMs = performance.now() - t0
  gc()
  const after = process.memoryUsage().heapUsed
  if (alive !== total) return yield* Effect.dieMessage(`expected ${total} live agents, found ${alive}`)
  return { heapPerAgent: (after - before) / AGENTS, startUsPerAgent: (startMs * 1000) / AGENTS }
})

/** Floor: a Map entry per agent holding a bounded queue and a fiber blocked on `Queue.take`. */
const floor = Effect.gen(function*() {
  type Entry = { readonly queue: Queue.Queue<number>; readonly fiber: Fiber.RuntimeFiber<number> }
  const warm = new Map<string, Entry>()
  const held = new Map<string, Entry>()
  const make = (into: Map<string, Entry>, key: string) =>
    Effect.gen(function*() {
      const queue = yield* Queue.bounded<number>(1024)
      const fiber = yield* Effect.forkDaemon(Queue.take(queue))
      into.set(key, { queue, fiber })
    })
  for (let i = 0; i < WARM; i++) yield* make(warm, `warm-${i}`)
  yield* Effect.yieldNow()
  gc()
  const before = process.memoryUsage().heapUsed
  for (let i = 0; i < AGENTS; i++) yield* make(held, `bench-agent-${i}`)
  yield* Effect.yieldNow()
  gc()
  const after = process.memoryUsage().heapUsed
  const alive = [...held.values()].filter((a) => a.fiber.unsafePoll() === null).length
  for (const a of [...warm.values(), ...held.values()]) yield* Fiber.interrupt(a.fiber)
  if (alive !== AGENTS) return yield* Effect.dieMessage(`floor: expected ${AGENTS} blocked fibers, found ${alive}`)
  return (after - before) / AGENTS
})

const main = async () => {
  const floorPerAgent = await Effect.runPromise(floor)
  const o = await Effect.runPromise(ours.pipe(Effect.provide(Layer.orDie(runtimeLayer(WARM + AGENTS))), Effect.scoped))
  process.stdout.write(
    `heap per idle agent (${AGENTS}): ${o.heapPerAgent.toFixed(0)} B (floor ${floorPerAgent.toFixed(0)} B; ` +
      `start ${o.startUsPerAgent.toFixed(0)} µs per agent)\n`
  )
  process.stdout.write(`MEMORY_JSON ${JSON.stringify({ agents: AGENTS, floorPerAgent, ...o })}\n`)
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`memory bench failed: ${String(error)}\n`)
    process.exit(1)
  }
)
