import { describe, expect, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import { AgentId } from "../../schema/Ids.ts"
import { SandboxLive } from "../../layers/Sandbox.ts"
import { TestDomain } from "../../layers/Test.ts"
import { provisionCommand, type ProvisionFields } from "../support/agents.ts"
import { AgentPool } from "../../src/agents/AgentPool.ts"
import { AgentRuntime } from "../../src/agents/AgentRuntime.ts"
import { AgentRuntimeInfo } from "../../src/agents/cluster/RuntimeInfo.ts"
import { Deprovision, GetStatus } from "../../src/agents/Commands.ts"
import { Telephony } from "../../src/providers/Telephony.ts"

const provision = (extra: Partial<ProvisionFields> = {}) => provisionCommand({ displayName: "Actor test", ...extra })

/** Sandbox telephony, except that provisioning a number for agents named crash-* is a defect (a bug). */
const crashingTelephony = () => {
  const crashOnce = Ref.unsafeMake(new Set<string>())
    return Layer.effect(
    Telephony,
    Effect.map(Telephony, (inner) =>
      Telephony.of({
        ...inner,
        provisionNumber: (req) =>
          Effect.flatMap(Ref.modify(crashOnce, (seen) => [seen.has(req.agentId), new Set(seen).add(req.agentId)]), (seenBefore) =>
            req.agentId.startsWith("crash-") && !seenBefore ? Effect.dieMessage("simulated adapter bug") : inner.provisionNumber(req))
      }))
  ).pipe(Layer.provide(SandboxLive))
}

/** The same suite on both agent runtimes (the cluster one as a single-process cluster in memory). */
describe.each(["inprocess", "cluster"])("agent actors (%s runtime)", (kind) => {
  layer(TestDomain({
    env: { INITIAL_AGENT_POOL_SIZE: "20", AGENT_RUNTIME: kind },
    providers: Layer.merge(SandboxLive, crashingTelephony())
  }), {
    timeout: 60_000,
    excludeTestServices: true
  })((it) => {
    it.effect("a crashed actor answers the defect, restarts, and rebuilds its state from the database", () =>
      Effect.gen(function*() {
        const runtime = yield* AgentRuntime
        const pool = yield* AgentPool
        const id = AgentId.make("crash-1")
        expect((yield* (yield* AgentRuntimeInfo).describe).kind).toBe(kind === "cluster" ? "cluster" : "in-process")
        const before = yield* pool.status
        const first = yield* Effect.exit(runtime.send(id, provision()))
        expect(Exit.isFailure(first) && Exit.causeOption(first).pipe(Option.map((c) => c._tag))).toEqual(Option.some("Die"))
        // the pool slot taken before the crash was given back, nothing was half-written
        expect(yield* pool.status).toEqual(before)
        expect(yield* Effect.exit(runtime.send(id, new GetStatus()))).toMatchObject({ _tag: "Failure" })
        expect(yield* runtime.restarts(id)).toBe(1)
        // the restarted actor works: same agent provisions now, and its state survives passivation
        const out = yield* runtime.send(id, provision())
        expect(out.channels.phone?.number).toMatch(/^\+1/)
        yield* runtime.passivate(id)
        expect(yield* runtime.activeAgents).not.toContain(id)
        const status = yield* runtime.send(id, new GetStatus())
        expect(status.channels.phone?.number).toBe(out.channels.phone?.number)
        expect(yield* runtime.restarts(id)).toBe(0)
      }))

    it.effect("one agent's commands are serialized: concurrent provisions of the same agent → one wins", () =>
      Effect.gen(function*() {
        const runtime = yield* AgentRuntime
        const id = AgentId.make("serial-1")
        const results = yield* Effect.all(
          Array.from({ length: 8 }, () => Effect.either(runtime.send(id, provision()))),
          { concurrency: "unbounded" }
        )
        const wins = results.filter((r) => r._tag === "Right")
        expect(wins).toHaveLength(1)
        expect(results.filter((r) => r._tag === "Left").map((r) => r._tag === "Left" && r.left._tag)).toEqual(
          Array(7).fill("AlreadyProvisioned")
        )
        const gone = yield* runtime.send(id, new Deprovision({ releaseNumber: false, actor: "master" }))
        expect(gone.tokensRevoked).toBe(1)
        // without releaseNumber the number stays reserved for this agent and comes back on re-provisioning
        const back = yield* runtime.send(id, provision())
        const won = wins[0]
        expect(won?._tag === "Right" && back.channels.phone?.number).toBe(won?._tag === "Right" && won.right.channels.phone?.number)
      }))

    it.effect("different agents run in parallel and each gets its own number", () =>
      Effect.gen(function*() {
        const runtime = yield* AgentRuntime
        const outs = yield* Effect.forEach(
          ["p-1", "p-2", "p-3", "p-4", "p-5"],
          (id) => runtime.send(AgentId.make(id), provision()),
          { concurrency: "unbounded" }
        )
        expect(new Set(outs.map((o) => o.channels.phone?.number)).size).toBe(5)
        expect(new Set(outs.map((o) => o.channels.email?.address)).size).toBe(5)
        expect((yield* runtime.activeAgents).length).toBeGreaterThanOrEqual(5)
      }))
  })
})
