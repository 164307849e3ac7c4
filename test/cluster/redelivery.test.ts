/**
 * A command delivered twice (the same `requestId`, as a cluster redelivers a persisted message
 * after its runner died) never sends twice: on the cluster runtime the second delivery gets the
 * stored reply; on any runtime the guard's reservation (keyed by the request id) refuses a second
 * admission, so even a re-run that gets past dedupe cannot reach the provider again.
 */
import { describe, expect, layer } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { AgentId } from "../../schema/Ids.ts"
import { TestDomain } from "../../layers/Test.ts"
import { AgentRuntime } from "../../src/agents/AgentRuntime.ts"
import { SendMessage } from "../../src/agents/Commands.ts"
import { provisionAgent } from "../support/agents.ts"

const outbound = (agent: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ n: number }>`SELECT count(*)::int AS n FROM usage_logs WHERE agent_id = ${agent}`.pipe(
      Effect.map((rows) => rows[0]?.n ?? 0)
    ))

describe("a redelivered SendMessage is sent once", () => {
  layer(TestDomain({ env: { INITIAL_AGENT_POOL_SIZE: "5", AGENT_RUNTIME: "cluster" } }), {
    timeout: 60_000,
    excludeTestServices: true
  })((it) => {
    it.effect("cluster runtime: the second delivery answers with the first reply", () =>
      Effect.gen(function*() {
        const runtime = yield* AgentRuntime
        yield* provisionAgent("dedupe-c")
        const cmd = new SendMessage({ to: "+12025550160", channel: "sms", body: "once" })
        const first = yield* runtime.send(AgentId.make("dedupe-c"), cmd)
        const again = yield* runtime.send(AgentId.make("dedupe-c"), new SendMessage({ ...cmd }))
        expect(first.status).toBe("queued")
        expect(again.messageId).toBe(first.messageId)
        expect(yield* outbound("dedupe-c")).toBe(1)
      }))
  })

  layer(TestDomain({ env: { INITIAL_AGENT_POOL_SIZE: "5" } }), { timeout: 60_000, excludeTestServices: true })((it) => {
    it.effect("without dedupe (in-process): the guard refuses to reserve the same request twice", () =>
      Effect.gen(function*() {
        const runtime = yield* AgentRuntime
        yield* provisionAgent("dedupe-i")
        const cmd = new SendMessage({ to: "+12025550161", channel: "sms", body: "once" })
        expect((yield* runtime.send(AgentId.make("dedupe-i"), cmd)).status).toBe("queued")
        const again = yield* Effect.exit(runtime.send(AgentId.make("dedupe-i"), cmd))
        expect(Exit.isFailure(again)).toBe(true)
        expect(yield* outbound("dedupe-i")).toBe(1)
        // the agent goes on working
        const next = yield* runtime.send(AgentId.make("dedupe-i"), new SendMessage({ to: "+12025550161", channel: "sms", body: "next" }))
        expect(next.status).toBe("queued")
        expect(yield* outbound("dedupe-i")).toBe(2)
      }))
  })
})
