/**
 * The database of the process, chosen from configuration once, when the layer is built:
 *
 * - `DATABASE_URL` set (non-empty) → PostgreSQL through `@effect/sql-pg` (production).
 * - otherwise embedded PGlite with its files in `<DATA_DIR>/pglite` (`DATA_DIR` defaults to `./data`,
 *   created if missing); `DATA_DIR=":memory:"` keeps everything in memory.
 *
 * Either way the layer provides `SqlClient.SqlClient` with the app-wide name transforms
 * (camelCase in TypeScript, snake_case in SQL) and `DatabaseInfo` saying which one it is.
 *
 * Usage: `import * as Database from "./db/Database.ts"` then `Database.layer`, `Database.ping`, …
 *
 * Driver differences callers must tolerate (see `PgliteClient.ts`): `int8`/`bigserial`/`count(*)`
 * decode as numbers on PGlite and as strings on PostgreSQL — use Schemas that accept both.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Str from "effect/String"
import * as NodeFsSync from "node:fs"
import * as NodeFs from "node:fs/promises"
import * as NodePath from "node:path"
import * as PgliteClient from "./PgliteClient.ts"

/**
 * @since 0.1.0
 * @category models
 */
export type DatabaseKind = "pglite" | "postgres"

/**
 * Which database the process runs on; `location` is safe to log (never contains credentials).
 *
 * @since 0.1.0
 * @category tags
 */
export class DatabaseInfo extends Context.Tag("app/db/DatabaseInfo")<DatabaseInfo, {
  readonly kind: DatabaseKind
  readonly location: string
}>() {}

/**
 * The name transforms used by the whole app, identical for both drivers.
 *
 * @since 0.1.0
 */
export const transforms = {
  transformQueryNames: Str.camelToSnake,
  transformResultNames: Str.snakeToCamel
} as const

/**
 * `postgresql.conf` of the embedded database. PostgreSQL's defaults size a server (128 MB of shared
 * buffers, touched at start, so ~130 MB of resident memory before the first query); this app's
 * working set is far smaller, and in memory mode the data files already live in this process.
 *
 * @since 0.3.0
 */
export const EMBEDDED_POSTGRESQL_CONF: ReadonlyArray<string> = [
  "shared_buffers=16MB",
  "wal_buffers=1MB",
  "temp_buffers=2MB",
  "work_mem=2MB",
  "maintenance_work_mem=16MB",
  "max_connections=4"
]

/**
 * PGlite in `dataDir` (created if missing), or in memory when `undefined`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerPglite = (
  dataDir: string | undefined
): Layer.Layer<SqlClient.SqlClient | DatabaseInfo, SqlError> => {
  const info = Layer.succeed(DatabaseInfo, {
    kind: "pglite",
    location: dataDir === undefined ? "memory" : NodePath.resolve(dataDir)
  })
  const client = PgliteClient.layer({ dataDir, postgresqlConf: EMBEDDED_POSTGRESQL_CONF, ...transforms })
  if (dataDir === undefined) return Layer.merge(client, info)
  const ensureDir = Layer.scopedDiscard(Effect.zipRight(
    Effect.tryPromise({
      try: () => NodeFs.mkdir(dataDir, { recursive: true }),
      catch: (cause) => new SqlError({ cause, message: `Cannot create the PGlite data directory ${dataDir}` })
    }),
    lockDataDir(dataDir)
  ))
  return Layer.merge(client, info).pipe(Layer.provide(ensureDir))
}

const pidAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

/**
 * PGlite is one process's database: a second server on the same directory
 * would corrupt it. Holds `<dataDir>/server.lock` (our pid) for the scope; a
 * lock left by a dead process is taken over.
 */
const lockDataDir = (dataDir: string) => {
  const file = NodePath.join(dataDir, "server.lock")
  const take = Effect.try({
    try: () => {
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          NodeFsSync.writeFileSync(file, String(process.pid), { flag: "wx" })
          return
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e
          const holder = Number(NodeFsSync.readFileSync(file, "utf8").trim())
          if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && pidAlive(holder)) {
            throw new Error(`data directory ${NodePath.resolve(dataDir)} is in use by process ${holder}`)
          }
          NodeFsSync.rmSync(file, { force: true })
        }
      }
      throw new Error(`could not lock the data directory ${NodePath.resolve(dataDir)}`)
    },
    catch: (cause) =>
      new SqlError({
        cause,
        message: `${cause instanceof Error ? cause.message : String(cause)}: one server per PGlite DATA_DIR ` +
          "(use another DATA_DIR, or PostgreSQL via DATABASE_URL for several processes)"
      })
  })
  return Effect.acquireRelease(take, () =>
    Effect.sync(() => {
      try {
        if (NodeFsSync.readFileSync(file, "utf8").trim() === String(process.pid)) NodeFsSync.rmSync(file, { force: true })
      } catch {
        // already gone
      }
    }))
}

/**
 * PostgreSQL through `@effect/sql-pg` (a pool; fails if the server does not answer `SELECT 1`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerPg = (url: Redacted.Redacted): Layer.Layer<SqlClient.SqlClient | DatabaseInfo, SqlError> =>
  Layer.merge(
    PgClient.layer({ url, ...transforms }),
    Layer.succeed(DatabaseInfo, { kind: "postgres", location: describeUrl(url) })
  )

/**
 * The process's database, chosen from `DATABASE_URL` / `DATA_DIR` (read once, here).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<SqlClient.SqlClient | DatabaseInfo, ConfigError.ConfigError | SqlError> = Layer
  .unwrapEffect(
    Effect.gen(function*() {
      const url = yield* Config.option(Config.redacted("DATABASE_URL"))
      if (Option.isSome(url) && Redacted.value(url.value).trim() !== "") {
        return layerPg(url.value)
      }
      const dataDir = yield* Config.string("DATA_DIR").pipe(Config.withDefault("./data"))
      return layerPglite(dataDir === ":memory:" ? undefined : NodePath.join(dataDir, "pglite"))
    })
  )

/**
 * Readiness probe: `SELECT 1`.
 *
 * @since 0.1.0
 */
export const ping: Effect.Effect<void, SqlError, SqlClient.SqlClient> = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) => Effect.asVoid(sql`SELECT 1`.withoutTransform)
)

/**
 * The PostgreSQL SQLSTATE of a failed statement (same on PGlite and PostgreSQL), e.g. `"23505"`.
 *
 * @since 0.1.0
 */
export const sqlState = (error: SqlError): string | undefined => {
  const cause: unknown = error.cause
  if (typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string") {
    return cause.code
  }
  return undefined
}

/**
 * `true` when the statement failed on a UNIQUE constraint / unique index (SQLSTATE 23505).
 *
 * @since 0.1.0
 */
export const isUniqueViolation = (error: SqlError): boolean => sqlState(error) === "23505"

const describeUrl = (url: Redacted.Redacted): string => {
  try {
    const parsed = new URL(Redacted.value(url))
    return `${parsed.hostname}${parsed.port ? `:${parsed.port}` : ""}${parsed.pathname}`
  } catch {
    return "postgres"
  }
}
