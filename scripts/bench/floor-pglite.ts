/**
 * The floor of the RSS row of `npm run bench`: PGlite alone, as our embedded
 * server opens it (a data directory, default options), after one query. Run as
 * a child; prints `READY` once open. $DATA_DIR: the directory ("" = in memory).
 */
import { PGlite } from "@electric-sql/pglite"

const dataDir = process.env["DATA_DIR"] ?? ""
const db = await (dataDir === "" ? PGlite.create() : PGlite.create(dataDir))
await db.query("SELECT 1")
process.stdout.write("READY\n")

const shutdown = () => {
  void db.close().finally(() => process.exit(0))
  setTimeout(() => process.exit(0), 1000).unref()
}
process.on("SIGTERM", shutdown)
process.on("SIGINT", shutdown)
setInterval(() => undefined, 60_000)
