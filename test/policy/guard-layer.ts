/**
 * Test wiring for the guardrails: every registered migration plus 0004_guardrails (until the lead
 * registers it in src/db/Migrations.ts), the guard services, config and the audit log, over a
 * given database layer (in-memory or file PGlite, or a fresh PostgreSQL database).
 */
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { AgentId } from "../../schema/Ids.ts"
import { testConfig } from "../../layers/Test.ts"
import { UsageDashboard } from "../../src/billing/UsageDashboard.ts"
import { AppConfig } from "../../src/config/AppConfig.ts"
import * as Database from "../../src/db/Database.ts"
import * as Migrations from "../../src/db/Migrations.ts"
import guardrails from "../../src/db/migrations/0004_guardrails.ts"
import { AuditLog } from "../../src/observability/AuditLog.ts"
import { AgentGuard } from "../../src/policy/AgentGuard.ts"
import { Compliance } from "../../src/policy/Compliance.ts"
import { freshPgDatabase } from "../support/postgres.ts"

export const allMigrations = { ...Migrations.migrations, "0004_guardrails": guardrails }

const migrate = Migrator.make({})({ loader: Migrator.fromRecord(allMigrations), table: Migrations.table })

type Db = Layer.Layer<SqlClient.SqlClient | Database.DatabaseInfo, SqlError>

const migrated = (db: Db) =>
  Layer.effectContext(Effect.zipRight(migrate, Effect.context<SqlClient.SqlClient | Database.DatabaseInfo>())).pipe(
    Layer.provide(db)
  )

/** The guard, the dashboard and compliance over `db` (migrated), with test config (+ `env`). */
export const GuardTest = (db: Db, env: Record<string, string> = {}) =>
  Layer.mergeAll(AgentGuard.Default, UsageDashboard.Default, Compliance.Default).pipe(
    Layer.provideMerge(AuditLog.Default),
    Layer.provideMerge(Layer.merge(migrated(db), AppConfig.Default)),
    // the guard's own tests run on a TestClock: quiet hours are enforced here
    Layer.provide(testConfig({ TCPA_QUIET_HOURS: "enforce", ...env }))
  )

export const pglite: Db = Database.layerPglite(undefined)

/** A fresh database on the test PostgreSQL server (`inject("pgUrl")`). */
export const postgres = (serverUrl: string): Db =>
  Layer.unwrapEffect(Effect.map(Effect.promise(() => freshPgDatabase(serverUrl)), (url) => Database.layerPg(Redacted.make(url))))

let seq = 0
/** Inserts a provisioned agent row (what the foreign keys need) with a unique id. */
export const makeAgent = (label: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const id = AgentId.make(`${label}-${++seq}-${Math.random().toString(36).slice(2, 8)}`)
    yield* sql`INSERT INTO agent_channels ${sql.insert({ agentId: id, displayName: `Agent ${label}` })}`
    return id
  }).pipe(Effect.orDie)
