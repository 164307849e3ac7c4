/**
 * `npm run migrate`: apply pending migrations to the configured database
 * (`DATABASE_URL` → PostgreSQL, else PGlite under `DATA_DIR`, default `./data`).
 * Prints one line to stdout, e.g. `migrations: applied 1 (0001_initial) on pglite /app/data/pglite`.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Database from "../src/db/Database.ts"
import * as Migrations from "../src/db/Migrations.ts"

const program = Effect.gen(function*() {
  const info = yield* Database.DatabaseInfo
  const applied = yield* Migrations.run
  const names = applied.map(([id, name]) => `${String(id).padStart(4, "0")}_${name}`).join(", ")
  yield* Console.log(
    `migrations: applied ${applied.length}${applied.length > 0 ? ` (${names})` : ""} on ${info.kind} ${info.location}`
  )
})

program.pipe(Effect.provide(Database.layer), NodeRuntime.runMain)
