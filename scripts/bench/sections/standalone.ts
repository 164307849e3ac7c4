/**
 * Sections measured by a script of their own (voice, abuse, providers, cluster): each runs in a
 * child process (`node --import tsx scripts/bench/<name>.ts`) that prints its figures, ratios to
 * the floor it measures in the same run; its output joins the report as is. On request only
 * (`--only voice,abuse,providers,cluster`): they start servers or runner processes of their own.
 */
import { spawn } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { addText, sectionFailed } from "../report.ts"
import type { Section } from "../config.ts"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")

export const STANDALONE = {
  voice: { script: "scripts/bench/voice.ts", title: "voice: server overhead per turn vs a bare ws echo; concurrent calls" },
  abuse: { script: "scripts/bench/abuse.ts", title: "abuse: authenticated tool-call p99 under an unauthenticated flood vs idle" },
  providers: { script: "scripts/bench/providers.ts", title: "providers: adapter overhead per send over the vendor emulator floor" },
  cluster: { script: "scripts/bench/cluster.ts", title: "cluster: sends/s and inbound/s on 3 runners vs 1; failover time" }
} as const

export const runStandalone = (section: keyof typeof STANDALONE & Section): Promise<void> =>
  new Promise((resolve) => {
    const { script, title } = STANDALONE[section]
    const child = spawn(process.execPath, ["--import", "tsx", path.join(root, script)], {
      cwd: root,
      stdio: ["ignore", "pipe", "inherit"]
    })
    let out = ""
    child.stdout.on("data", (b: Buffer) => (out += b.toString()))
    child.on("close", (code) => {
      if (code === 0) addText(`${title}\n${out.trimEnd()}`)
      else sectionFailed(section, `${script} exited with ${code}`)
      resolve()
    })
  })
