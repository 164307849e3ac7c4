/**
 * Group commit: concurrent writes share a transaction, each caller gets its own answer, a failed
 * batch falls back to one transaction per item; and the inbound path on top of it keeps dedupe by
 * provider id exact. On PGlite and PostgreSQL.
 */
import { describe, expect, it, layer, type Vitest } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { randomBytes } from "node:crypto"
import { inject } from "vitest"
import { AgentId } from "../../schema/Ids.ts"
import type { InboundMessage } from "../../schema/Webhooks.ts"
import { TestDomain } from "../../layers/Test.ts"
import { AgentsRepo } from "../../src/agents/AgentsRepo.ts"
import type { AgentRuntime } from "../../src/agents/AgentRuntime.ts"
import * as GroupCommit from "../../src/db/GroupCommit.ts"
import { Inbound } from "../../src/messaging/Inbound.ts"
import { provisionAgent } from "../support/agents.ts"
import { freshPgDatabase } from "../support/postgres.ts"

describe("GroupCommit", () => {
  it.scoped("concurrent submits are batched; each caller gets its own result", () =>
    Effect.gen(function*() {
      const batches: Array<ReadonlyArray<number>> = []
      const commit = yield* GroupCommit.make({
        maxBatch: 8,
        runBatch: (items: ReadonlyArray<number>) =>
          Effect.sync(() => {
            batches.push(items)
            return items.map((n) => n * 10)
          }),
        runOne: (n: number) => Effect.succeed(n * 10)
      })
      const results = yield* Effect.forEach(Array.from({ length: 20 }, (_, i) => i), commit.submit, {
        concurrency: "unbounded"
      })
      expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i * 10))
      expect(batches.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i))
      expect(Math.max(...batches.map((b) => b.length))).toBeGreaterThan(1)
      expect(Math.max(...batches.map((b) => b.length))).toBeLessThanOrEqual(8)
    }))

  it.scoped("a failed batch is written item by item: the bad item fails alone", () =>
    Effect.gen(function*() {
      const singles: Array<number> = []
      const commit = yield* GroupCommit.make({
        maxBatch: 16,
        runBatch: (items: ReadonlyArray<number>) =>
          items.includes(13) ? Effect.fail("batch failed" as const) : Effect.succeed(items.map((n) => n + 1)),
        runOne: (n: number) =>
          Effect.suspend(() => {
            singles.push(n)
            return n === 13 ? Effect.fail("bad item" as const) : Effect.succeed(n + 1)
          })
      })
      const results = yield* Effect.forEach([10, 11, 12, 13, 14], (n) => Effect.either(commit.submit(n)), {
        concurrency: "unbounded"
      })
      expect(results).toEqual([
        Either.right(11),
        Either.right(12),
        Either.right(13),
        Either.left("bad item"),
        Either.right(15)
      ])
      expect(singles).toContain(13)
    }))
})

let seq = 0
const sms = (agentPhone: string, providerMessageId: string, from = "+12025550123"): InboundMessage => ({
  provider: "twilio",
  providerMessageId,
  channel: "sms",
  from,
  to: agentPhone,
  body: `hello ${++seq}`,
  media: []
})

const suite = (it: Vitest.MethodsNonLive<Inbound | AgentsRepo | AgentRuntime | SqlClient.SqlClient, false>) => {
  it.effect("N concurrent inbound messages → N rows and N callbacks; a duplicate in the batch is deduped; a bad one fails alone", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const inbound = yield* Inbound
      const agents = yield* AgentsRepo
      const id = `gc-${randomBytes(4).toString("hex")}`
      yield* provisionAgent(id)
      const agent = Option.getOrThrow(yield* agents.find(AgentId.make(id)))
      const phone = agent.phoneNumber ?? ""
      expect(phone).not.toBe("")

      const n = 40
      const ids = Array.from({ length: n }, (_, i) => `SM${id}${i}`)
      const messages = [
        ...ids.map((pid) => sms(phone, pid)),
        sms(phone, ids[7]!), // the same provider id again, in the same burst
        sms(phone, `SM${id}bad`, "+1202555\u00000199") // PostgreSQL text cannot hold NUL: this insert fails
      ]
      const results = yield* Effect.forEach(messages, (m) => Effect.either(Effect.exit(inbound.acceptMessage(agent, m))), {
        concurrency: "unbounded"
      })
      const outcomes = results.map((r) => Either.getOrThrow(r))
      const accepted = outcomes.filter((o) => o._tag === "Success" && o.value._tag === "Accepted")
      const duplicates = outcomes.filter((o) => o._tag === "Success" && o.value._tag === "Duplicate")
      expect(accepted).toHaveLength(n)
      expect(duplicates).toHaveLength(1)
      expect(outcomes[n + 1]?._tag).toBe("Failure")

      const rows = yield* sql<{ externalId: string }>`SELECT external_id FROM messages
        WHERE agent_id = ${id} AND direction = 'inbound'`
      expect(rows.map((r) => r.externalId).sort()).toEqual([...ids].sort())
      const callbacks = yield* sql<{ webhookId: string }>`SELECT webhook_id FROM webhook_outbox WHERE agent_id = ${id}`
      expect(callbacks).toHaveLength(n)
      const acceptedIds = accepted.map((o) => (o._tag === "Success" && o.value._tag === "Accepted" ? o.value.messageId : ""))
      expect(callbacks.map((c) => c.webhookId).sort()).toEqual(acceptedIds.map((m) => `msg_${m}`).sort())

      // a later retry of any of them is a duplicate too
      expect((yield* inbound.acceptMessage(agent, sms(phone, ids[0]!)))._tag).toBe("Duplicate")
    }), { timeout: 60_000 })
}

const domain = (env: Record<string, string> = {}) => TestDomain({ env })

layer(domain(), { timeout: 120_000 })("group commit of inbound webhooks on PGlite", suite)
layer(
  Layer.unwrapEffect(Effect.map(Effect.promise(() => freshPgDatabase(inject("pgUrl"))), (url) => domain({ DATABASE_URL: url }))),
  { timeout: 120_000 }
)("group commit of inbound webhooks on PostgreSQL", suite)
