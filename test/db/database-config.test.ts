/**
 * `Database.layer` picks the database from config (DATABASE_URL / DATA_DIR), file-backed PGlite keeps
 * data across restarts, and `scripts/migrate.ts` works end to end.
 */
import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { inject } from "vitest"
import * as Database from "../../src/db/Database.ts"
import * as Migrations from "../../src/db/Migrations.ts"
import { allMigrations, freshPgDatabase } from "../support/postgres.ts"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

const databaseFrom = (env: Record<string, string>) =>
  Database.layer.pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))))

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "agentos-data-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const runMigrateScript = (env: Record<string, string>) =>
  Effect.async<string, Error>((resume) => {
    const child = execFile(
      process.execPath,
      ["--import", "tsx", "scripts/migrate.ts"],
      { cwd: root, env: { ...process.env, ...env }, timeout: 60_000 },
      (error, stdout, stderr) =>
        resume(error ? Effect.fail(new Error(`${error.message}\n${stderr}`)) : Effect.succeed(stdout))
    )
    return Effect.sync(() => child.kill())
  })

describe("Database.layer", () => {
  it.scopedLive("DATA_DIR: PGlite on disk under <DATA_DIR>/pglite, data survives a restart", () =>
    Effect.gen(function*() {
      const dataDir = path.join(yield* tempDir, "nested", "data")
      const db = databaseFrom({ DATA_DIR: dataDir })

      const first = yield* Effect.gen(function*() {
        const info = yield* Database.DatabaseInfo
        yield* Database.ping
        expect(yield* Migrations.run).toEqual(allMigrations.map((m) => [m.migrationId, m.name]))
        const sql = yield* SqlClient.SqlClient
        yield* sql`INSERT INTO agent_channels ${sql.insert({ agentId: "persisted" })}`
        return info
      }).pipe(Effect.provide(db))
      expect(first).toEqual({ kind: "pglite", location: path.join(dataDir, "pglite") })
      expect(fs.existsSync(path.join(dataDir, "pglite", "PG_VERSION"))).toBe(true)

      // a new instance on the same directory: schema and rows are still there
      const rows = yield* Effect.gen(function*() {
        expect(yield* Migrations.run).toEqual([])
        const sql = yield* SqlClient.SqlClient
        return yield* sql<{ agentId: string }>`SELECT agent_id FROM agent_channels`
      }).pipe(Effect.provide(db))
      expect(rows).toEqual([{ agentId: "persisted" }])
    }), { timeout: 60_000 })

  it.live("DATA_DIR=\":memory:\" (and an empty DATABASE_URL): PGlite in memory", () =>
    Effect.gen(function*() {
      const info = yield* Database.DatabaseInfo
      yield* Database.ping
      expect(info).toEqual({ kind: "pglite", location: "memory" })
    }).pipe(Effect.provide(databaseFrom({ DATA_DIR: ":memory:", DATABASE_URL: "" }))), { timeout: 60_000 })

  it.live("DATABASE_URL: PostgreSQL (wins over DATA_DIR)", () =>
    Effect.gen(function*() {
      const url = yield* Effect.promise(() => freshPgDatabase(inject("pgUrl")))
      const info = yield* Effect.gen(function*() {
        yield* Database.ping
        return yield* Database.DatabaseInfo
      }).pipe(Effect.provide(databaseFrom({ DATABASE_URL: url, DATA_DIR: ":memory:" })))
      expect(info.kind).toBe("postgres")
      expect(info.location).toBe(`${new URL(url).hostname}:${new URL(url).port}${new URL(url).pathname}`)
    }))

  it.live("DATABASE_URL pointing nowhere fails the layer with an SqlError", () =>
    Effect.gen(function*() {
      const error = yield* Database.ping.pipe(
        Effect.provide(databaseFrom({ DATABASE_URL: "postgres://postgres@127.0.0.1:1/none" })),
        Effect.flip
      )
      expect(error._tag).toBe("SqlError")
    }))
})

describe("scripts/migrate.ts", () => {
  it.live("applies the migrations once and reports how many ran", () =>
    Effect.gen(function*() {
      const url = yield* Effect.promise(() => freshPgDatabase(inject("pgUrl")))
      const first = yield* runMigrateScript({ DATABASE_URL: url })
      expect(first.trim().split("\n")).toHaveLength(1)
      expect(first).toMatch(new RegExp(`^migrations: applied ${allMigrations.length} \\(${Object.keys(Migrations.migrations).join(", ")}\\) on postgres `))
      const second = yield* runMigrateScript({ DATABASE_URL: url })
      expect(second).toMatch(/^migrations: applied 0 on postgres /)
    }), { timeout: 60_000 })
})
