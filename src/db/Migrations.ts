/**
 * Schema migrations, run with `@effect/sql`'s `Migrator` (the same code path for PGlite and
 * PostgreSQL). Applied migrations are recorded in `effect_sql_migrations`; running again applies only
 * the new ones, so `run` is idempotent. On PostgreSQL the Migrator takes an ACCESS EXCLUSIVE lock on
 * that table inside its transaction, so concurrent starts apply each migration once.
 *
 * `PgMigrator`'s `dumpSchema` is deliberately not used: it shells out to `pg_dump`.
 *
 * Usage: `import * as Migrations from "./db/Migrations.ts"` then `Migrations.layer` (or `Migrations.run`).
 *
 * @since 0.1.0
 */
import * as Migrator from "@effect/sql/Migrator"
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import initial from "./migrations/0001_initial.ts"
import sandboxCarrier from "./migrations/0002_sandbox_carrier.ts"
import messaging from "./migrations/0003_messaging.ts"
import guardrails from "./migrations/0004_guardrails.ts"
import addressLookup from "./migrations/0005_address_lookup.ts"
import outboxLease from "./migrations/0006_outbox_lease.ts"
import providerResources from "./migrations/0007_provider_resources.ts"

/**
 * Every migration, keyed `<id>_<name>`. Append new ones (`"0002_…"`); never edit an applied one.
 *
 * @since 0.1.0
 */
export const migrations: Record<string, Effect.Effect<void, unknown, SqlClient.SqlClient>> = {
  "0001_initial": initial,
  "0002_sandbox_carrier": sandboxCarrier,
  "0003_messaging": messaging,
  "0004_guardrails": guardrails,
  "0005_address_lookup": addressLookup,
  "0006_outbox_lease": outboxLease,
  "0007_provider_resources": providerResources
}

/**
 * Name of the table where the Migrator records applied migrations.
 *
 * @since 0.1.0
 */
export const table = "effect_sql_migrations"

/**
 * Apply the pending migrations; succeeds with the `[id, name]` of those applied now (empty when the
 * schema was up to date). A failing migration is rolled back and surfaces as a defect carrying a
 * `MigrationError` (reason "failed"), as `Migrator` does.
 *
 * @since 0.1.0
 */
export const run: Effect.Effect<
  ReadonlyArray<readonly [id: number, name: string]>,
  Migrator.MigrationError | SqlError,
  SqlClient.SqlClient
> = Migrator.make({})({ loader: Migrator.fromRecord(migrations), table })

/**
 * Runs the migrations when built; provide it over the database layer before anything that queries.
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<never, Migrator.MigrationError | SqlError, SqlClient.SqlClient> = Layer.effectDiscard(
  run
)
