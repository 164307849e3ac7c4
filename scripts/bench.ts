/**
 * `npm run bench`: the figures of issue 7's table, each next to a floor
 * measured in the same run on the same machine, with its target and PASS/FAIL,
 * then one summary table. Servers run as child processes (their CPU and RSS are
 * read from inside them over IPC, scripts/bench/probe.ts); the MCP client,
 * webhook senders and callback receiver run here. Tables go to stdout,
 * progress to stderr. Exit code 1 when a section failed (with --strict also when a
 * row or the soak did not pass).
 *
 * Flags (after `--`, e.g. `npm run bench -- --only inbound,memory`):
 *
 *   --only a,b      run only these sections (default: all but filter and the standalone ones:
 *                   voice, abuse, providers, cluster — scripts/bench/sections/standalone.ts)
 *   --skip a,b      run the default sections but these
 *   --soak MINUTES  the soak (alone unless --only is given too), e.g. --soak 10
 *   --strict        exit 1 when a summary row does not PASS (without it: only when a section fails)
 *   --modes m[,m]   storage of the server runs: disk (embedded PGlite in a directory; default) and/or memory
 *   --help
 *
 * Sections and the rows they give (floors in brackets, targets from issue 7):
 *
 *   rss        server RSS after start, no agents, default settings [PGlite alone, same storage]      ≤ 250 MB
 *   provision  comms_provision_channels p50, sequential [bare MCP SDK no-op p50]                       ≤ 5×
 *   status     comms_get_channel_status p50, sequential [same]                                           ≤ 1.3×
 *   send       comms_send_message p50 to a person (sandbox outbox) [same]                                ≤ 3×
 *              server CPU per send, ms (server child's process.cpuUsage() delta / sends)                ≤ 3 ms
 *              (detail: sends to another agent, and how long until all reached its callback)
 *   inbound    signed inbound SMS accepted msg/s [node:http + HMAC + 1 PGlite insert, 2xx/s]           ≥ 0.8×
 *              forwarded to the callback msg/s [same]                                                    ≥ 0.6×
 *              backlog drained, s after the last post was answered                                       ≤ 10 s
 *   guard      admit + settle p50, in-process, in-memory PGlite [one single-row INSERT p50]             ≤ 2×
 *   memory     heap per idle agent at BENCH_AGENTS agents [Map entry + queue + blocked fiber]           ≤ 4,096 B
 *   filter     content filter µs per check (on request; no target)
 *   soak       mixed load for MINUTES (see scripts/bench/sections/soak.ts): RSS slope after warm-up,
 *              callback backlog drain time, errors
 *
 * A default run took 11 minutes on 2 cores shared at load average 9–16 (roughly half that when idle); the
 * memory section (10,000 agents started one by one) is most of it. Counts (environment):
 *
 *   BENCH_N / BENCH_WARMUP      MCP floor: sequential no-op calls / warm-up before each sequential run (2000 / 200)
 *   BENCH_M                     timed provisions, at most 300 (200)
 *   BENCH_K                     timed sequential status calls (1000)
 *   BENCH_CONCURRENCY / BENCH_CONC_N  extra detail rows: status over N clients (0 = off / 2000)
 *   BENCH_SEND_K / BENCH_SEND_WARMUP  timed / warm-up sends per recipient kind (400 / 50)
 *   BENCH_SEND_TO_AGENT         1: also time sends to another agent (detail; the soak does this anyway) (0)
 *   BENCH_HUMAN_NUMBER          recipient of sends to a person, sender of inbound posts (+12025550123)
 *   BENCH_INBOUND_N / BENCH_INBOUND_WARMUP / BENCH_INBOUND_CONCURRENCY  posts / warm-up / senders (1500 / 200 / 32)
 *   BENCH_FORWARD_TIMEOUT_S     wait for forwarded callbacks (120)
 *   GUARD_BENCH_N / GUARD_BENCH_AGENTS  guard: admit+settle pairs / idle GuardStates for detail (1500 / 1000)
 *   BENCH_AGENTS                memory: idle agents (10000)
 *   BENCH_RSS_SETTLE_S          rss: seconds after ready before sampling (5)
 *   BENCH_SOAK_SENDERS / BENCH_SOAK_POSTERS  soak load (2 / 4)
 *   BENCH_SOAK_WARMUP_S / BENCH_SOAK_SAMPLE_S  soak: RSS warm-up excluded from the slope / sample period (60 / 10)
 *   BENCH_SOAK_MAX_SLOPE_MB_MIN / BENCH_SOAK_MAX_DRAIN_S  soak verdict limits (2 / 10)
 *   BENCH_SERVER_NODE_ARGS      extra node flags for our server, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
 */
import * as os from "node:os"
import { cfg, has, log, type Mode, type Section } from "./bench/config.ts"
import { elapsedSince } from "./bench/measure.ts"
import { addNote, anySectionFailed, printHeader, printReport, sectionFailed } from "./bench/report.ts"
import { withServer } from "./bench/server.ts"
import type { Summary } from "./bench/stats.ts"
import { runFilter } from "./bench/sections/filter.ts"
import { runGuard } from "./bench/sections/guard.ts"
import { runInbound, runInboundFloor } from "./bench/sections/inbound.ts"
import { type McpFloor, runMcpFloor } from "./bench/sections/mcpFloor.ts"
import { runMemory } from "./bench/sections/memory.ts"
import { runRss } from "./bench/sections/rss.ts"
import { runSoak } from "./bench/sections/soak.ts"
import { runStandalone } from "./bench/sections/standalone.ts"
import { PROVISION_WARMUP, runTools, toolsPoolSize } from "./bench/sections/tools.ts"

/**
 * The SDK client's fetch adds an abort listener per request that undici drops
 * only on GC: Node warns (MaxListenersExceededWarning) past 1500. Harmless
 * here; count them instead of printing thousands of lines.
 */
let listenerWarnings = 0
process.removeAllListeners("warning")
process.on("warning", (w) => {
  if (w.name === "MaxListenersExceededWarning") listenerWarnings++
  else process.stderr.write(`${w.name}: ${w.message}\n`)
})

const loadAverage = () => os.loadavg().map((x) => x.toFixed(2)).join(" / ")

/** Runs one section's work; a failure is reported and the run goes on. */
const attempt = async (sections: ReadonlyArray<Section>, run: () => Promise<void>): Promise<boolean> => {
  try {
    await run()
    return true
  } catch (e) {
    for (const s of sections) sectionFailed(s, e instanceof Error ? e.message : String(e))
    return false
  }
}

const serverSections = (mode: Mode, qualifier: string, floor: McpFloor | undefined) => async () => {
  const tools = (["status", "provision", "send"] as const).filter(has)
  let inboundFloor: Summary | undefined
  if (has("inbound")) await attempt(["inbound"], async () => {
    inboundFloor = await runInboundFloor(mode, qualifier)
  })
  if ((tools.length === 0 || floor === undefined) && inboundFloor === undefined) return
  const pool = toolsPoolSize() + PROVISION_WARMUP + 5
  await withServer({ mode, label: "tools + inbound", poolSize: pool }, async (server) => {
    addNote(`${mode}: server answered /health ${(server.startupMs / 1000).toFixed(1)} s after spawn`)
    if (tools.length > 0 && floor !== undefined) await attempt(tools, () => runTools(server, floor, qualifier))
    if (inboundFloor !== undefined) {
      const f = inboundFloor
      await attempt(["inbound"], () => runInbound(server, f, qualifier))
    }
  })
}

const main = async (): Promise<number> => {
  const started = Date.now()
  const loadAtStart = loadAverage()
  printHeader(cfg.sections, cfg.modes, cfg.soakMinutes)
  const qualifier = (mode: Mode) => (cfg.modes.length > 1 ? mode : "")
  let soakOk = true

  if (has("rss")) for (const mode of cfg.modes) await attempt(["rss"], () => runRss(mode, qualifier(mode)))
  const tools = (["status", "provision", "send"] as const).filter(has)
  let floor: McpFloor | undefined
  if (tools.length > 0) await attempt(tools, async () => {
    floor = await runMcpFloor()
  })
  if (tools.length > 0 || has("inbound")) {
    for (const mode of cfg.modes) {
      await attempt([...tools, ...(has("inbound") ? ["inbound" as const] : [])], serverSections(mode, qualifier(mode), floor))
    }
  }
  if (has("guard")) await attempt(["guard"], runGuard)
  if (has("memory")) await attempt(["memory"], runMemory)
  if (has("filter")) await attempt(["filter"], runFilter)
  for (const s of ["voice", "abuse", "providers", "cluster"] as const) {
    if (has(s)) await attempt([s], () => runStandalone(s))
  }
  if (cfg.soakMinutes !== undefined) {
    const minutes = cfg.soakMinutes
    try {
      soakOk = await runSoak(minutes)
    } catch (e) {
      soakOk = false
      sectionFailed("soak", e instanceof Error ? e.message : String(e))
    }
  }

  if (listenerWarnings > 0) addNote(`client side: ${listenerWarnings} MaxListenersExceededWarning (SDK client fetch abort listeners) suppressed`)
  addNote(`total bench time ${elapsedSince(started)}`)
  addNote(
    `machine load average (1/5/15 min) at start ${loadAtStart}, at end ${loadAverage()} on ${os.cpus().length} CPUs ` +
      "(other processes share this machine: compare ratios of one run, not absolute figures across runs)"
  )
  const failures = printReport(cfg.sections)
  if (anySectionFailed()) return 1
  return cfg.strict && (failures > 0 || !soakOk) ? 1 : 0
}

main().then(
  (code) => {
    log(code === 0 ? "done" : "done, with failures (see the summary and the notes)")
    process.exit(code)
  },
  (e: unknown) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`)
    process.exit(1)
  }
)
