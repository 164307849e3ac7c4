/**
 * Persistence behaviour that the app relies on, checked identically against embedded PGlite
 * (in memory) and a real PostgreSQL (a fresh database on the server started by globalSetup).
 */
import { expect, layer, type Vitest } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { inject } from "vitest"
import * as Database from "../../src/db/Database.ts"
import * as Migrations from "../../src/db/Migrations.ts"
import { tables } from "../../src/db/migrations/0001_initial.ts"
import { allMigrations, freshPgLayer } from "../support/postgres.ts"

type Db = SqlClient.SqlClient | Database.DatabaseInfo

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

/** int8 arrives as a number from PGlite and as a string from pg: accept both. */
const Int8 = Schema.Union(Schema.Number, Schema.NumberFromString)

let seq = 0
const uniqueAgentId = (label: string) => `agent-${label}-${Date.now().toString(36)}-${++seq}`

const insertAgent = (agentId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql`INSERT INTO agent_channels ${sql.insert({ agentId })}`)

const agentsIn = (agentIds: ReadonlyArray<string>) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) =>
      sql<{ agentId: string }>`SELECT agent_id FROM agent_channels WHERE ${sql.in("agentId", agentIds)} ORDER BY agent_id`
  ).pipe(Effect.map((rows) => rows.map((r) => r.agentId)))

const suite = (it: Vitest.MethodsNonLive<Db, true>) => {
  it.effect("migrations create every table and are idempotent", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const rows = yield* sql<{ tableName: string }>`
        SELECT table_name FROM information_schema.tables
        WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
      const names = rows.map((r) => r.tableName)
      for (const table of [...tables, Migrations.table]) expect(names).toContain(table)

      // already applied by the layer: running again (twice) applies nothing
      expect(yield* Migrations.run).toEqual([])
      expect(yield* Migrations.run).toEqual([])
      const applied = yield* sql<{ migrationId: number; name: string }>`
        SELECT migration_id, name FROM ${sql(Migrations.table)} ORDER BY migration_id`
      expect(applied).toEqual(allMigrations)
    }))

  it.effect("insert/select map camelCase ↔ snake_case (columns and nested json keys)", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const agentId = uniqueAgentId("camel")
      const [inserted] = yield* sql<{
        id: string
        agentId: string
        displayName: string
        whatsappStatus: string
        capabilities: unknown
        provisionedAt: Date
        deprovisionedAt: Date | null
      }>`INSERT INTO agent_channels ${
        sql.insert({ agentId, displayName: "Front desk", capabilities: { smsEnabled: true } })
      } RETURNING *`
      expect(inserted).toMatchObject({
        agentId,
        displayName: "Front desk",
        whatsappStatus: "pending",
        capabilities: { smsEnabled: true },
        deprovisionedAt: null
      })
      expect(inserted?.id).toMatch(UUID)
      expect(inserted?.provisionedAt).toBeInstanceOf(Date)

      // keys nested in jsonb are transformed on the way out too (as @effect/sql-pg does)
      yield* sql`UPDATE agent_channels SET privacy = '{"store_bodies": false}'::jsonb WHERE agent_id = ${agentId}`
      const [read] = yield* sql<{ privacy: unknown }>`SELECT privacy FROM agent_channels WHERE agent_id = ${agentId}`
      expect(read?.privacy).toEqual({ storeBodies: false })

      // sql.in + identifiers written in camelCase
      const other = uniqueAgentId("camel")
      yield* insertAgent(other)
      expect(yield* agentsIn([agentId, other, "nobody"])).toEqual([agentId, other].sort())
      const byIdentifier = yield* sql<{ agentId: string }>`
        SELECT ${sql("agentId")} FROM agent_channels WHERE ${sql("displayName")} = ${"Front desk"}
          AND ${sql.in("agentId", [agentId])}`
      expect(byIdentifier).toEqual([{ agentId }])
    }))

  it.effect("numeric is a string, timestamptz a Date, on both drivers", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const agentId = uniqueAgentId("types")
      yield* insertAgent(agentId)
      const [row] = yield* sql<{ cost: string; createdAt: Date }>`
        INSERT INTO usage_logs ${
        sql.insert({ agentId, actionType: "send_sms", channel: "sms", cost: "0.007900", provider: "sandbox" })
      } RETURNING cost, created_at`
      expect(row?.cost).toBe("0.007900")
      expect(row?.createdAt).toBeInstanceOf(Date)
    }))

  it.effect("transactions commit, roll back, and roll back a nested savepoint only", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const [committed, rolledBack, outer, inner, after] = ["commit", "rollback", "outer", "inner", "after"].map(
        uniqueAgentId
      ) as [string, string, string, string, string]

      yield* sql.withTransaction(insertAgent(committed))
      const failed = yield* sql.withTransaction(
        Effect.zipRight(insertAgent(rolledBack), Effect.fail("boom" as const))
      ).pipe(Effect.either)
      expect(failed).toEqual(Either.left("boom"))

      yield* sql.withTransaction(Effect.gen(function*() {
        yield* insertAgent(outer)
        const nested = yield* sql.withTransaction(
          Effect.zipRight(insertAgent(inner), Effect.fail("inner failed" as const))
        ).pipe(Effect.either)
        expect(Either.isLeft(nested)).toBe(true)
        yield* insertAgent(after)
      }))

      expect(yield* agentsIn([committed, rolledBack, outer, inner, after])).toEqual([after, committed, outer].sort())
    }))

  it.effect("a failed statement inside a savepoint leaves the outer transaction usable", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const agentId = uniqueAgentId("abort")
      yield* sql.withTransaction(Effect.gen(function*() {
        yield* insertAgent(agentId)
        const dup = yield* sql.withTransaction(insertAgent(agentId)).pipe(Effect.flip)
        expect(Database.isUniqueViolation(dup)).toBe(true)
        yield* sql`UPDATE agent_channels SET display_name = 'kept' WHERE agent_id = ${agentId}`
      }))
      const [row] = yield* sql<{ displayName: string }>`SELECT display_name FROM agent_channels WHERE agent_id = ${agentId}`
      expect(row?.displayName).toBe("kept")
    }))

  it.effect("unique violations are SqlErrors carrying SQLSTATE 23505", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const agentId = uniqueAgentId("dup")
      yield* insertAgent(agentId)
      const error = yield* Effect.flip(insertAgent(agentId))
      expect(error).toBeInstanceOf(SqlError)
      expect(error.cause).toMatchObject({ code: "23505" })
      expect(Database.sqlState(error)).toBe("23505")
      expect(Database.isUniqueViolation(error)).toBe(true)

      // messages: provider ids dedupe per (agent, direction); NULL external ids never collide
      const message = (externalId: string | null, direction = "inbound") =>
        sql`INSERT INTO messages ${
          sql.insert({ agentId, channel: "sms", direction, fromAddress: "+15550001", toAddress: "+15550002", externalId })
        }`
      yield* message(null)
      yield* message(null)
      yield* message("SM1")
      yield* message("SM1", "outbound")
      const dup = yield* Effect.flip(message("SM1"))
      expect(Database.isUniqueViolation(dup)).toBe(true)
    }))

  it.effect("CHECK constraints hold: agent_pool is one row and never over-allocated", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`INSERT INTO agent_pool ${sql.insert({ maxAgents: 2 })} ON CONFLICT DO NOTHING`
      yield* sql`INSERT INTO agent_pool ${sql.insert({ maxAgents: 9 })} ON CONFLICT DO NOTHING`
      const second = yield* Effect.flip(sql`INSERT INTO agent_pool ${sql.insert({ id: 2, maxAgents: 9 })}`)
      expect(Database.sqlState(second)).toBe("23514")
      const [pool] = yield* sql<{ maxAgents: number }>`SELECT max_agents FROM agent_pool`
      expect(pool?.maxAgents).toBe(2)
      const over = yield* Effect.flip(sql`UPDATE agent_pool SET active_agents = max_agents + 1`)
      expect(Database.sqlState(over)).toBe("23514")
    }))

  it.effect("gen_random_uuid() defaults produce distinct v4 UUIDs", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const agentId = uniqueAgentId("uuid")
      yield* insertAgent(agentId)
      const rows = yield* sql<{ id: string }>`
        INSERT INTO agent_tokens ${
        sql.insert([1, 2, 3].map((n) => ({ agentId, tokenHash: `${agentId}-${n}`.padEnd(64, "0") })))
      } RETURNING id`
      expect(rows).toHaveLength(3)
      for (const { id } of rows) expect(id).toMatch(UUID)
      expect(new Set(rows.map((r) => r.id)).size).toBe(3)
    }))

  it.effect("bigserial ids decode (number on PGlite, string on pg) and audit_log is append-only", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const { kind } = yield* Database.DatabaseInfo
      const rows = yield* sql<{ id: unknown }>`
        INSERT INTO audit_log ${
        sql.insert([
          { eventType: "test.event", actor: "system", prevHash: "0".repeat(64), rowHash: "a".repeat(64) },
          { eventType: "test.event", actor: "system", prevHash: "a".repeat(64), rowHash: "b".repeat(64) }
        ])
      } RETURNING id`
      expect(typeof rows[0]?.id).toBe(kind === "pglite" ? "number" : "string")
      const ids = yield* Schema.decodeUnknown(Schema.Array(Schema.Struct({ id: Int8 })))(rows)
      const [first, second] = ids.map((r) => r.id)
      expect(Number.isInteger(first)).toBe(true)
      expect(second).toBe((first ?? 0) + 1)

      const [count] = yield* sql<{ n: unknown }>`SELECT count(*) AS n FROM audit_log WHERE id <= ${second ?? 0}`
      expect(yield* Schema.decodeUnknown(Int8)(count?.n)).toBeGreaterThanOrEqual(2)

      const update = yield* Effect.flip(sql`UPDATE audit_log SET actor = 'x' WHERE id = ${first ?? 0}`)
      expect(Database.sqlState(update)).toBe("42501")
      const del = yield* Effect.flip(sql`DELETE FROM audit_log WHERE id = ${first ?? 0}`)
      expect(Database.sqlState(del)).toBe("42501")
    }))

  it.effect("multi-statement strings, .values and .stream behave alike", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const multi = yield* sql.unsafe<{ a_b?: number; c?: number }>(`SELECT 1::int4 AS a_b; SELECT 2::int4 AS c`)
      expect(multi).toEqual([[{ aB: 1 }], [{ c: 2 }]])
      expect(yield* sql`SELECT 1::int4 AS a, 'x' AS b`.values).toEqual([[1, "x"]])
      expect(yield* sql`SELECT ${7}::int4 AS a`.values).toEqual([[7]])
      const streamed = yield* Stream.runCollect(
        sql<{ someValue: number }>`SELECT g::int4 AS some_value FROM generate_series(1, 3) AS g`.stream
      )
      expect(Chunk.toReadonlyArray(streamed)).toEqual([{ someValue: 1 }, { someValue: 2 }, { someValue: 3 }])
    }))

  it.effect("a plain query from another fiber never joins an open transaction", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const { kind } = yield* Database.DatabaseInfo
      const inTx = uniqueAgentId("in-tx")
      const outside = uniqueAgentId("outside")
      const opened = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()

      const tx = yield* sql.withTransaction(Effect.gen(function*() {
        yield* insertAgent(inTx)
        yield* Deferred.succeed(opened, undefined)
        yield* Deferred.await(release)
        return yield* Effect.fail("roll back" as const)
      })).pipe(Effect.either, Effect.fork)
      yield* Deferred.await(opened)

      const other = yield* Effect.fork(insertAgent(outside))
      yield* Effect.sleep("150 millis")
      if (kind === "pglite") {
        // one connection: the other fiber waits for the transaction instead of running inside it
        expect(Option.isNone(yield* Fiber.poll(other))).toBe(true)
      }
      yield* Deferred.succeed(release, undefined)
      expect(yield* Fiber.join(tx)).toEqual(Either.left("roll back"))
      yield* Fiber.join(other)

      expect(yield* agentsIn([inTx, outside])).toEqual([outside])
    }))

  it.effect("transactions from concurrent fibers serialize cleanly", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const ids = Array.from({ length: 8 }, (_, i) => uniqueAgentId(`conc${i}`))
      const results = yield* Effect.forEach(
        ids,
        (agentId, i) =>
          sql.withTransaction(
            Effect.zipRight(insertAgent(agentId), i % 2 === 0 ? Effect.void : Effect.fail(agentId))
          ).pipe(Effect.either),
        { concurrency: "unbounded" }
      )
      expect(results.filter(Either.isLeft)).toHaveLength(4)
      expect(yield* agentsIn(ids)).toEqual(ids.filter((_, i) => i % 2 === 0).sort())
    }))

  it.effect("a fiber interrupted while waiting for the connection leaks no lease", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const { kind } = yield* Database.DatabaseInfo
      const agentId = uniqueAgentId("timeout")
      const opened = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const tx = yield* sql.withTransaction(
        Effect.zipRight(Deferred.succeed(opened, undefined), Deferred.await(release))
      ).pipe(Effect.fork)
      yield* Deferred.await(opened)
      const waited = yield* insertAgent(agentId).pipe(Effect.timeout("100 millis"), Effect.either)
      if (kind === "pglite") expect(Either.isLeft(waited)).toBe(true)
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(tx)
      // the lock is free again: plain statements and transactions proceed
      yield* Database.ping
      yield* sql.withTransaction(Database.ping)
      expect(yield* agentsIn([agentId])).toEqual(kind === "pglite" ? [] : [agentId])
    }))

  it.effect("ping", () => Database.ping)
}

const withMigrations = <E>(db: Layer.Layer<Db, E>) => Layer.provideMerge(Migrations.layer, db)

const options = { timeout: "90 seconds", excludeTestServices: true } as const

layer(withMigrations(Database.layerPglite(undefined)), options)("PGlite (in memory)", suite)
layer(withMigrations(freshPgLayer(inject("pgUrl"))), options)("PostgreSQL", suite)
