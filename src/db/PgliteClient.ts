/**
 * An `@effect/sql` `SqlClient` over PGlite (PostgreSQL compiled to WASM, running in-process).
 *
 * No Effect 3 adapter is published (`@effect/sql-pglite` exists only for Effect 4), so this is a small
 * one on `SqlClient.make` with the PostgreSQL statement compiler of `@effect/sql-pg`
 * (`PgClient.makeCompiler`): `sql.insert`, `sql.in`, `sql.update`, identifiers etc. compile exactly
 * as they do against a real PostgreSQL.
 *
 * Design notes — read before changing:
 *
 * - PGlite is ONE connection. Every lease of the connection holds a one-holder FIFO lock
 *   (`FifoLock.ts`: Effect's semaphore is not first-in-first-out and starves fibers that need many
 *   short turns, such as the callback outbox, under load): a plain
 *   statement holds it for the statement, a transaction holds it from `BEGIN` to `COMMIT`/`ROLLBACK`
 *   (nested `withTransaction` calls become SAVEPOINTs on the same lease). Without the lock a plain
 *   query from another fiber would be sent into the open transaction and silently rolled back with
 *   it. Consequence: inside `sql.withTransaction`, never wait for another fiber that needs the
 *   database *without* the transaction in its context (e.g. a fiber forked with a fresh context, or
 *   `sql.reserve`): that deadlocks. Fibers forked inside the transaction inherit it and are fine.
 * - Statements without parameters go through PGlite's simple-query protocol (`exec`), like `pg`
 *   does, so multi-statement strings work (`sql.unsafe("CREATE …; CREATE …")`), and results of a
 *   multi-statement string come back as one row array per statement, as with `@effect/sql-pg`.
 *   Statements with parameters use the extended protocol (`query`).
 * - Parameters: a plain object is sent as its JSON text, as `pg` does (PGlite would otherwise send
 *   `[object Object]` to a text parameter); everything else is serialized by PGlite from the
 *   parameter type the server infers.
 * - Type differences from `pg` (node-postgres) that callers' Schemas must tolerate:
 *     * `int8` / `bigserial` / `count(*)` come back as JS **numbers** here (PGlite; a `bigint` only
 *       beyond 2^53) but as **strings** from `pg`. Decode with a Schema accepting both.
 *     * `date` comes back as a `Date` at UTC midnight here; `pg` gives a `Date` at local midnight.
 *     * `numeric`, `uuid`: strings in both. `timestamptz`: `Date` in both. `json(b)`: parsed in both.
 * - `executeStream` buffers the whole result (PGlite has no cursors over this API); there is no
 *   LISTEN/NOTIFY helper.
 * - Errors: every failure is a `SqlError` whose `cause` is PGlite's `DatabaseError`, which carries the
 *   PostgreSQL SQLSTATE in `.code` exactly like `pg`'s error (e.g. `"23505"` unique violation).
 * - Durability: file-backed PGlite never fsyncs; commits survive a process kill, not a power loss.
 * - Memory: `postgresqlConf` lines replace the cluster's `postgresql.conf` at each start (PGlite
 *   rewrites the file); `Database.ts` passes small buffers (`EMBEDDED_POSTGRESQL_CONF`). PGlite's
 *   WASM memory only grows, and creating a cluster (initdb) in this process leaves ~400 MB behind
 *   (a second WASM module, its memory and compiled code). So a new data directory is initialized
 *   by a short-lived child process (`initdbInChild`) and this process only ever opens an existing
 *   cluster. In-memory instances (tests, `DATA_DIR=:memory:`) run initdb here.
 *
 * @since 0.1.0
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import * as SqlClient from "@effect/sql/SqlClient"
import type { Connection } from "@effect/sql/SqlConnection"
import { SqlError } from "@effect/sql/SqlError"
import * as Statement from "@effect/sql/Statement"
import * as PgClient from "@effect/sql-pg/PgClient"
import { PGlite, type Results } from "@electric-sql/pglite"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { execFile } from "node:child_process"
import * as NodeFs from "node:fs"
import { createRequire } from "node:module"
import * as NodePath from "node:path"
import * as FifoLock from "./FifoLock.ts"

/**
 * @since 0.1.0
 * @category models
 */
export interface PgliteClientConfig {
  /** Directory of the PGlite cluster; `undefined` = in memory (lost when the layer closes). */
  readonly dataDir: string | undefined
  /** e.g. `String.camelToSnake`: applied to identifiers written with `sql(…)`, `sql.insert`, … */
  readonly transformQueryNames?: ((str: string) => string) | undefined
  /** e.g. `String.snakeToCamel`: applied to the column names of result rows. */
  readonly transformResultNames?: ((str: string) => string) | undefined
  /** Also transform keys nested in json(b) values (default `true`, as in `@effect/sql-pg`). */
  readonly transformJson?: boolean | undefined
  readonly spanAttributes?: Record<string, unknown> | undefined
  /** `postgresql.conf` lines (e.g. `shared_buffers=16MB`), applied at every start. */
  readonly postgresqlConf?: ReadonlyArray<string> | undefined
}

/**
 * The client, with the underlying PGlite instance for maintenance work (e.g. `dumpDataDir`).
 * Queries sent to `pglite` directly bypass the connection lock: don't, while the app is serving.
 *
 * @since 0.1.0
 * @category models
 */
export interface PgliteClient extends SqlClient.SqlClient {
  readonly pglite: PGlite
  readonly config: PgliteClientConfig
}

/**
 * @since 0.1.0
 * @category tags
 */
export const PgliteClient = Context.GenericTag<PgliteClient>("app/db/PgliteClient")

type Row = Record<string, unknown>
type TransformRows = (<A extends object>(rows: ReadonlyArray<A>) => ReadonlyArray<A>) | undefined

const isPlainObject = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && Object.getPrototypeOf(u) === Object.prototype

/** Mirrors what `pg` does with a plain object parameter: send it as JSON text. */
const prepareParams = (params: ReadonlyArray<unknown>): Array<unknown> =>
  params.map((p) => (isPlainObject(p) ? JSON.stringify(p) : p))

/** `pg` returns one row array per statement when a simple query holds several statements. */
const rowsOfResults = <A>(results: ReadonlyArray<Results<A>>): ReadonlyArray<unknown> => {
  if (results.length === 1) return results[0]?.rows ?? []
  return results.map((r) => r.rows)
}

const toSqlError = (message: string) => (cause: unknown) => new SqlError({ cause, message })

/** The script of the initdb child: `node -e <script> <pglite module> <dataDir> <conf JSON>`. */
const INITDB_SCRIPT = `const { PGlite } = require(process.argv[1]);
PGlite.create(process.argv[2], { postgresqlconf: JSON.parse(process.argv[3]) })
  .then((db) => db.close())
  .then(() => process.exit(0), (e) => { console.error(String(e && e.message || e)); process.exit(1) })`

/**
 * Creates the PGlite cluster in `dataDir` (when it has none yet) in a child process, so that
 * initdb's memory dies with the child instead of staying in the server's heap.
 *
 * @since 0.3.0
 */
export const initdbInChild = (
  dataDir: string,
  postgresqlConf: ReadonlyArray<string>
): Effect.Effect<void, SqlError> =>
  Effect.suspend(() => {
    if (NodeFs.existsSync(NodePath.join(dataDir, "PG_VERSION"))) return Effect.void
    const pgliteModule = createRequire(import.meta.url).resolve("@electric-sql/pglite")
    return Effect.async<void, SqlError>((resume) => {
      const child = execFile(
        process.execPath,
        ["-e", INITDB_SCRIPT, pgliteModule, dataDir, JSON.stringify(postgresqlConf)],
        { timeout: 120_000, maxBuffer: 1024 * 1024 },
        (error, _stdout, stderr) =>
          resume(
            error === null
              ? Effect.void
              : Effect.fail(
                new SqlError({
                  cause: error,
                  message: `PgliteClient: initdb of ${dataDir} failed: ${stderr.trim().slice(0, 500)}`
                })
              )
          )
      )
      return Effect.sync(() => child.kill())
    })
  })

/**
 * Open PGlite and build the client. The instance is closed when the scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: PgliteClientConfig
): Effect.Effect<PgliteClient, SqlError, Scope.Scope | Reactivity.Reactivity> =>
  Effect.gen(function*() {
    const lock = yield* FifoLock.make
    const postgresqlconf = options.postgresqlConf === undefined ? undefined : [...options.postgresqlConf]
    if (options.dataDir !== undefined) yield* initdbInChild(options.dataDir, postgresqlconf ?? [])
    const pglite = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () =>
          options.dataDir === undefined
            ? PGlite.create(postgresqlconf === undefined ? {} : { postgresqlconf })
            : PGlite.create(options.dataDir, postgresqlconf === undefined ? {} : { postgresqlconf }),
        catch: toSqlError(`PgliteClient: failed to open PGlite (${options.dataDir ?? "in memory"})`)
      }),
      (db) =>
        // Wait (bounded) for the lease in flight to end, then close (a clean shutdown matters for
        // a data dir). The permit is released afterwards so late callers get an SqlError
        // ("PGlite is closed") rather than waiting forever.
        Effect.flatMap(Effect.timeoutOption(lock.take, Duration.seconds(10)), (taken) =>
          Effect.tryPromise(() => db.close()).pipe(
            Effect.ignore,
            Effect.ensuring(taken._tag === "Some" ? lock.release : Effect.void)
          ))
    )

    const compiler = PgClient.makeCompiler(options.transformQueryNames, options.transformJson)
    const transformRows: TransformRows = options.transformResultNames
      ? Statement.defaultTransforms(options.transformResultNames, options.transformJson).array
      : undefined

    const runRows = (sql: string, params: ReadonlyArray<unknown>): Effect.Effect<ReadonlyArray<unknown>, SqlError> =>
      Effect.tryPromise({
        try: () =>
          params.length === 0
            ? pglite.exec(sql).then(rowsOfResults)
            : pglite.query<Row>(sql, prepareParams(params)).then((r) => r.rows),
        catch: toSqlError("Failed to execute statement")
      })

    const execute = (
      sql: string,
      params: ReadonlyArray<unknown>,
      transform: TransformRows
    ): Effect.Effect<ReadonlyArray<unknown>, SqlError> =>
      transform
        ? Effect.map(runRows(sql, params), (rows) => transform(rows as ReadonlyArray<object>))
        : runRows(sql, params)

    const connection: Connection = {
      execute,
      executeUnprepared: execute,
      executeRaw: (sql, params) =>
        Effect.tryPromise({
          try: (): Promise<unknown> =>
            params.length === 0 ? pglite.exec(sql) : pglite.query<Row>(sql, prepareParams(params)),
          catch: toSqlError("Failed to execute statement")
        }),
      executeValues: (sql, params) =>
        Effect.tryPromise({
          try: () =>
            params.length === 0
              // rowMode "array" makes each row an array (PGlite's `exec` is typed for object rows)
              ? pglite.exec(sql, { rowMode: "array" }).then((rs) =>
                (rs[rs.length - 1]?.rows ?? []).map((row): ReadonlyArray<unknown> =>
                  Array.isArray(row) ? row : Object.values(row)
                )
              )
              : pglite.query<Array<unknown>>(sql, prepareParams(params), { rowMode: "array" }).then((r) => r.rows),
          catch: toSqlError("Failed to execute statement")
        }),
      // PGlite offers no cursor here: the stream is the buffered result.
      executeStream: (sql, params, transform) =>
        Stream.fromIterableEffect(execute(sql, params, transform))
    }

    // One lease of the single connection = the lock, held until the lease's scope closes
    // (the statement for plain queries; COMMIT/ROLLBACK for transactions); waiters served FIFO.
    const acquirer: Connection.Acquirer = Effect.uninterruptibleMask((restore) =>
      restore(lock.take).pipe(
        Effect.zipRight(Effect.addFinalizer(() => lock.release)),
        Effect.as(connection)
      )
    )

    const client = yield* SqlClient.make({
      acquirer,
      compiler,
      spanAttributes: [
        ...(options.spanAttributes ? Object.entries(options.spanAttributes) : []),
        ["db.system.name", "postgresql"],
        ["db.namespace", options.dataDir ?? "pglite:memory"]
      ],
      transformRows
    })

    return Object.assign(client, { pglite, config: options })
  })

/**
 * Provides `SqlClient.SqlClient` (and `PgliteClient`) backed by one PGlite instance, closed with the layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: PgliteClientConfig): Layer.Layer<PgliteClient | SqlClient.SqlClient, SqlError> =>
  Layer.scopedContext(
    Effect.map(make(options), (client) =>
      Context.make(PgliteClient, client).pipe(Context.add(SqlClient.SqlClient, client)))
  ).pipe(Layer.provide(Reactivity.layer))
