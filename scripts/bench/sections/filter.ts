/** Section filter (on request only): the content-filter micro-bench, scripts/bench/contentFilter.ts, as is. */
import { once } from "node:events"
import { spawnChild } from "../child.ts"
import { log } from "../config.ts"
import { addText } from "../report.ts"

export const runFilter = async (): Promise<void> => {
  log("filter: scripts/bench/contentFilter.ts")
  const child = spawnChild("content filter bench", "scripts/bench/contentFilter.ts", {})
  try {
    await once(child.proc, "exit")
    if (child.proc.exitCode !== 0) throw new Error(`content filter bench exited ${child.proc.exitCode}\n${child.tail()}`)
    addText(child.tail())
  } finally {
    await child.kill()
  }
}
