/**
 * A real PostgreSQL for the test suite.
 *
 * - `startPostgres()` (used by `globalSetup.ts`) runs `initdb` + `pg_ctl start` in a temp dir on a free
 *   loopback port, as the `postgres` OS user when we are root, and returns its URL and a `stop`.
 * - `freshPgDatabase(url)` creates an empty database `t_<random>` on that server and returns its URL:
 *   each test file that needs PostgreSQL takes its own database.
 * - `freshPgLayer(url)` is the same as a Layer giving `SqlClient` + `DatabaseInfo` (through
 *   `Database.layerPg`), dropping the database when the layer closes.
 *
 * In a test file: `freshPgLayer(inject("pgUrl"))` (`inject` from "vitest").
 */
import * as Migrations from "../../src/db/Migrations.ts"
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import * as Database from "../../src/db/Database.ts"
import type {} from "vitest"

declare module "vitest" {
  export interface ProvidedContext {
    /** URL of the test PostgreSQL server's `postgres` database (superuser, trust auth). */
    pgUrl: string
  }
}

export const binariesMissingMessage =
  "PostgreSQL server binaries not found: install the `postgresql` package (apt-get install postgresql)"

const isExecutable = (file: string): boolean => {
  try {
    fs.accessSync(file, fs.constants.X_OK)
    return fs.statSync(file).isFile()
  } catch {
    return false
  }
}

/** `initdb` and `pg_ctl` from PATH, else from the newest /usr/lib/postgresql/<version>/bin. */
export const findPgBinaries = (): { readonly initdb: string; readonly pgCtl: string } => {
  const dirs = (process.env["PATH"] ?? "").split(path.delimiter).filter((d) => d !== "")
  try {
    const versions = fs.readdirSync("/usr/lib/postgresql")
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a))
    dirs.push(...versions.map((v) => path.join("/usr/lib/postgresql", v, "bin")))
  } catch {
    // no Debian-style install
  }
  for (const dir of dirs) {
    const initdb = path.join(dir, "initdb")
    const pgCtl = path.join(dir, "pg_ctl")
    if (isExecutable(initdb) && isExecutable(pgCtl)) return { initdb, pgCtl }
  }
  throw new Error(binariesMissingMessage)
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("could not find a free port"))))
    })
  })

const shellQuote = (arg: string): string => `'${arg.replace(/'/g, `'\\''`)}'`

const isRoot = (): boolean => process.getuid?.() === 0

/** Run a PostgreSQL binary, as the `postgres` OS user when we are root (the server refuses root). */
const runPg = (argv: ReadonlyArray<string>, cwd: string): string => {
  const [file, ...args]: ReadonlyArray<string> = !isRoot()
    ? argv
    : isExecutable("/usr/sbin/runuser") || isExecutable("/sbin/runuser")
    ? ["runuser", "-u", "postgres", "--", ...argv]
    : ["su", "postgres", "-s", "/bin/sh", "-c", argv.map(shellQuote).join(" ")]
  if (file === undefined) throw new Error("empty command")
  return execFileSync(file, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
}

const errorText = (error: unknown): string => {
  if (typeof error === "object" && error !== null) {
    const stderr = "stderr" in error ? String(error.stderr) : ""
    const stdout = "stdout" in error ? String(error.stdout) : ""
    const message = error instanceof Error ? error.message : ""
    return [message, stdout, stderr].filter((s) => s.trim() !== "").join("\n")
  }
  return String(error)
}

export interface RunningPostgres {
  readonly url: string
  readonly stop: () => void
}

/**
 * initdb + start a throwaway cluster; `stop()` shuts it down (`-m immediate`) and removes its files.
 * Takes ~1–3 s.
 */
export const startPostgres = async (): Promise<RunningPostgres> => {
  const { initdb, pgCtl } = findPgBinaries()
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "agentos-pg-"))
  const dataDir = path.join(base, "data")
  const socketDir = path.join(base, "sock")
  const logFile = path.join(base, "postgres.log")
  fs.mkdirSync(socketDir)
  if (isRoot()) {
    let uid: number
    let gid: number
    try {
      uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim())
      gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim())
    } catch {
      fs.rmSync(base, { recursive: true, force: true })
      throw new Error(
        "Running as root but there is no `postgres` OS user to run the server as: install the `postgresql` package (apt-get install postgresql)"
      )
    }
    for (const p of [base, socketDir]) fs.chownSync(p, uid, gid)
  }
  let stopped = false
  const stop = (): void => {
    if (stopped) return
    stopped = true
    try {
      runPg([pgCtl, "-D", dataDir, "stop", "-m", "immediate", "-w"], base)
    } catch {
      // already down
    }
    fs.rmSync(base, { recursive: true, force: true })
  }
  try {
    runPg([initdb, "-D", dataDir, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"], base)
    const port = await freePort()
    const serverOptions = [
      `-p ${port}`,
      "-c listen_addresses=127.0.0.1",
      `-k ${socketDir}`,
      "-c fsync=off",
      "-c synchronous_commit=off",
      "-c full_page_writes=off",
      "-c max_connections=300"
    ].join(" ")
    runPg([pgCtl, "-D", dataDir, "-l", logFile, "-w", "-t", "60", "-o", serverOptions, "start"], base)
    // Don't leave a server behind if the runner dies without calling teardown.
    process.once("exit", stop)
    return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, stop }
  } catch (error) {
    let log = ""
    try {
      log = fs.readFileSync(logFile, "utf8")
    } catch {
      // no log yet
    }
    stop()
    throw new Error(`Could not start the test PostgreSQL:\n${errorText(error)}${log ? `\n--- server log ---\n${log}` : ""}`)
  }
}

const withAdmin = <A>(
  url: string,
  f: (sql: SqlClient.SqlClient) => Effect.Effect<A, SqlError>
): Effect.Effect<A, SqlError> =>
  Effect.flatMap(PgClient.PgClient, f).pipe(
    Effect.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 1 }))
  )

const databaseUrl = (url: string, database: string): string => {
  const u = new URL(url)
  u.pathname = `/${database}`
  return u.toString()
}

const createDatabase = (url: string): Effect.Effect<{ readonly name: string; readonly url: string }, SqlError> =>
  Effect.suspend(() => {
    const name = `t_${randomBytes(8).toString("hex")}`
    return withAdmin(url, (sql) => sql.unsafe(`CREATE DATABASE ${name}`)).pipe(
      Effect.as({ name, url: databaseUrl(url, name) })
    )
  })

const dropDatabase = (url: string, name: string): Effect.Effect<void> =>
  withAdmin(url, (sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).pipe(Effect.ignore)

/** CREATE DATABASE t_<random> on the server of `url`; resolves to the new database's URL. */
export const freshPgDatabase = (url: string): Promise<string> =>
  Effect.runPromise(Effect.map(createDatabase(url), (db) => db.url))

/**
 * A fresh database on the server of `url`, as `SqlClient` + `DatabaseInfo` (app-wide name
 * transforms); the database is dropped when the layer is released.
 */
export const freshPgLayer = (url: string): Layer.Layer<SqlClient.SqlClient | Database.DatabaseInfo, SqlError> =>
  Layer.unwrapScoped(
    Effect.acquireRelease(createDatabase(url), (db) => dropDatabase(url, db.name)).pipe(
      Effect.map((db) => Database.layerPg(Redacted.make(db.url)))
    )
  )

/** Every migration as the Migrator records it: `{ migrationId, name }` from the `<id>_<name>` keys. */
export const allMigrations: ReadonlyArray<{ readonly migrationId: number; readonly name: string }> = Object.keys(
  Migrations.migrations
).map((key) => {
  const [, id = "", name = ""] = /^(\d+)_(.+)$/.exec(key) ?? []
  return { migrationId: Number(id), name }
})
