/**
 * Row rss: resident memory of our server right after start (no agents
 * provisioned, default settings) vs PGlite alone opened the same way
 * (scripts/bench/floor-pglite.ts), both child processes, both sampled the
 * same way: BENCH_RSS_SETTLE_S seconds after ready, then the median of 3
 * samples 1 s apart.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { setTimeout as sleep } from "node:timers/promises"
import { type Child, spawnChild } from "../child.ts"
import { cfg, log, type Mode } from "../config.ts"
import { addNote, addVerdict, fmt } from "../report.ts"
import { withServer } from "../server.ts"
import { median } from "../stats.ts"

const MB = 1024 * 1024

const settledRss = async (child: Child): Promise<number> => {
  await sleep(cfg.rssSettleS * 1000)
  const samples: Array<number> = []
  for (let i = 0; i < 3; i++) {
    if (i > 0) await sleep(1000)
    samples.push((await child.usage()).rss)
  }
  return median(samples)
}

const floorRss = async (mode: Mode): Promise<number> => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "agentos-bench-pglite-"))
  const child = spawnChild(`PGlite alone (${mode})`, "scripts/bench/floor-pglite.ts", {
    DATA_DIR: mode === "memory" ? "" : path.join(tmp, "pglite")
  })
  try {
    await child.waitForLine(/^READY$/, 60_000)
    return await settledRss(child)
  } finally {
    await child.kill()
    fs.rmSync(tmp, { recursive: true, force: true })
  }
}

export const runRss = async (mode: Mode, qualifier: string): Promise<void> => {
  log(`rss (${mode}): PGlite alone, then our server, each ${cfg.rssSettleS} s after ready + 3 samples`)
  const floor = await floorRss(mode)
  const ours = await withServer({ mode, label: "rss", bare: true }, async (server) => {
    const rss = await settledRss(server.child)
    const u = await server.child.usage()
    addNote(
      `rss (${mode}): server ready ${(server.startupMs / 1000).toFixed(1)} s after spawn; RSS ${fmt(rss / MB, 0)} MB, ` +
        `heapUsed ${fmt(u.heapUsed / MB, 0)} MB; PGlite alone ${fmt(floor / MB, 0)} MB`
    )
    return rss
  })
  addVerdict({ id: "rss", qualifier, value: ours / MB, floor: floor / MB, floorLabel: "PGlite alone" })
}
