/**
 * `npm run bench`: provision and status latency of agentos-comms as ratios to
 * a floor measured in the same run — a bare MCP SDK server (node:http +
 * StreamableHTTPServerTransport, low-level `Server`, one no-op tool, no Effect).
 *
 * Both servers run as child processes; the SDK client runs here. Prints a
 * table to stdout. Counts come from the environment:
 *
 *   BENCH_N            floor: sequential no-op calls            (default 2000)
 *   BENCH_WARMUP       warm-up calls before each sequential run  (default 200)
 *   BENCH_M            provisions per server run, at most 300    (default 200)
 *   BENCH_K            sequential status calls                   (default 1000)
 *   BENCH_CONCURRENCY  clients of the concurrent runs, 0 = skip  (default 8)
 *   BENCH_CONC_N       calls in each concurrent run              (default 2000)
 *   BENCH_MODES        server runs: "disk", "memory" or both     (default "disk,memory")
 *   BENCH_SERVER_NODE_ARGS  extra node flags for our server, space-separated
 *                      (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"; default none)
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { type Child, freePort, processCpuMs, spawnChild, waitForHttp200 } from "./bench/child.ts"
import { callTool, concurrent, type Connected, connect, describeError, sequential, stringField, type Timed } from "./bench/mcp.ts"
import { type Summary, summarize } from "./bench/stats.ts"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

const envInt = (name: string, fallback: number, min: number, max: number): number => {
  const raw = process.env[name]
  if (raw === undefined || raw.trim() === "") return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min || n > max) {
    process.stderr.write(`bench: ${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(raw)}\n`)
    process.exit(2)
  }
  return n
}

type Mode = "disk" | "memory"

const parseModes = (): ReadonlyArray<Mode> => {
  const raw = process.env["BENCH_MODES"] ?? "disk,memory"
  const modes = raw.split(",").map((s) => s.trim()).filter((s) => s.length > 0)
  const out: Array<Mode> = []
  for (const m of modes) {
    if (m !== "disk" && m !== "memory") {
      process.stderr.write(`bench: BENCH_MODES: unknown mode ${JSON.stringify(m)} (use disk, memory or both)\n`)
      process.exit(2)
    }
    if (!out.includes(m)) out.push(m)
  }
  return out
}

const cfg = {
  n: envInt("BENCH_N", 2000, 1, 1_000_000),
  warmup: envInt("BENCH_WARMUP", 200, 0, 1_000_000),
  m: envInt("BENCH_M", 200, 1, 300),
  k: envInt("BENCH_K", 1000, 1, 1_000_000),
  concurrency: envInt("BENCH_CONCURRENCY", 8, 0, 256),
  concN: envInt("BENCH_CONC_N", 2000, 1, 1_000_000),
  modes: parseModes(),
  serverNodeArgs: (process.env["BENCH_SERVER_NODE_ARGS"] ?? "").split(" ").filter((s) => s.length > 0)
}
/** Provisions done before the timed ones (warm-up), with their own agentIds. */
const provisionWarmup = 5

interface Row {
  readonly label: string
  readonly summary: Summary
  /** The floor summary this row is compared with; undefined for a floor row. */
  readonly floor: Summary | undefined
}

const rows: Array<Row> = []
const notes: Array<string> = []

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`)

const withClients = async <A>(
  url: string,
  bearer: string | undefined,
  count: number,
  use: (clients: ReadonlyArray<Connected>) => Promise<A>
): Promise<A> => {
  const clients: Array<Connected> = []
  try {
    for (let i = 0; i < count; i++) clients.push(await connect(url, bearer))
    return await use(clients)
  } finally {
    await Promise.allSettled(clients.map((c) => c.close()))
  }
}

const pick = <A>(xs: ReadonlyArray<A>, i: number): A => {
  const x = xs[i % xs.length]
  if (x === undefined) throw new Error("empty list")
  return x
}

// ---------------------------------------------------------------------------
// Floor
// ---------------------------------------------------------------------------

interface Floor {
  readonly seq: Summary
  readonly conc: Summary | undefined
}

const runFloor = async (): Promise<Floor> => {
  const child = spawnChild("floor server", ["--import", "tsx", path.join(root, "scripts/bench/floor-server.ts")], {
    PORT: "0"
  }, root)
  try {
    const m = await child.waitForLine(/^LISTENING (\d+)$/, 30_000)
    const url = `http://127.0.0.1:${m[1]}/mcp`
    const noop = async (c: Connected) => {
      const out = await callTool(c.client, "noop", {})
      if (out.isError) throw new Error(`floor no-op failed: ${describeError(out.body)}`)
    }
    log(`floor: ${cfg.warmup} warm-up + ${cfg.n} sequential no-op calls`)
    const seq = await withClients(url, undefined, 1, async ([c]) => {
      if (c === undefined) throw new Error("no client")
      await sequential(cfg.warmup, () => noop(c))
      return measure(child, () => sequential(cfg.n, () => noop(c)))
    })
    rows.push({ label: "floor no-op, sequential", summary: seq, floor: undefined })
    let conc: Summary | undefined
    if (cfg.concurrency > 0) {
      log(`floor: ${cfg.concN} no-op calls over ${cfg.concurrency} clients`)
      conc = await withClients(url, undefined, cfg.concurrency, async (clients) => {
        await concurrent(clients.length, Math.min(cfg.warmup, cfg.concN), (w) => noop(pick(clients, w)))
        return measure(child, () => concurrent(clients.length, cfg.concN, (w) => noop(pick(clients, w))))
      })
      rows.push({ label: `floor no-op, ${cfg.concurrency} clients`, summary: conc, floor: undefined })
    }
    return { seq, conc }
  } finally {
    await child.kill()
  }
}

/**
 * Runs a timed measure and summarises it, with the CPU time the server child
 * and this (client) process used meanwhile.
 */
const measure = async (server: Child, run: () => Promise<Timed>): Promise<Summary> => {
  const s0 = processCpuMs(server.proc.pid)
  const c0 = process.cpuUsage()
  const t = await run()
  const c1 = process.cpuUsage(c0)
  const s1 = processCpuMs(server.proc.pid)
  return summarize(t.latencies, t.wallMs, {
    serverMs: s0 === undefined || s1 === undefined ? Number.NaN : s1 - s0,
    clientMs: (c1.user + c1.system) / 1000
  })
}

// ---------------------------------------------------------------------------
// Our server
// ---------------------------------------------------------------------------

const provisionArgs = (agentId: string) => ({
  agentId,
  displayName: "Bench",
  greeting: "Hi",
  systemPrompt: "You are a bench agent",
  country: "US",
  capabilities: { phone: true, whatsapp: false, email: true, voiceAi: false }
})

const runOurs = async (mode: Mode, floor: Floor): Promise<void> => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "agentos-bench-"))
  const port = await freePort()
  const master = randomBytes(24).toString("base64url")
  const admin = randomBytes(24).toString("base64url")
  let child: Child | undefined
  try {
    child = spawnChild(`agentos-comms (${mode})`, [...cfg.serverNodeArgs, "--import", "tsx", path.join(root, "src/main.ts")], {
      PORT: String(port),
      HOST: "127.0.0.1",
      DATA_DIR: mode === "memory" ? ":memory:" : path.join(tmp, "data"),
      MASTER_SECURITY_TOKEN: master,
      ADMIN_TOKEN: admin,
      INITIAL_AGENT_POOL_SIZE: String(cfg.m + provisionWarmup + 10),
      LOG_LEVEL: "WARN", // Effect labels: ALL FATAL ERROR WARN INFO DEBUG TRACE OFF ("Warning" is rejected)
      AUTH_LOCKOUT_THRESHOLD: "100000"
    }, root)
    const base = `http://127.0.0.1:${port}`
    const startupMs = await waitForHttp200(child, `${base}/health`, 60_000)
    notes.push(`${mode}: server answered /health ${(startupMs / 1000).toFixed(1)} s after spawn`)
    const url = `${base}/mcp`
    const running = child

    const agents: Array<{ readonly agentId: string; readonly token: string }> = []
    const provision = async (c: Connected, agentId: string) => {
      const out = await callTool(c.client, "comms_provision_channels", provisionArgs(agentId))
      if (out.isError) {
        throw new Error(`${mode}: comms_provision_channels(${agentId}) returned isError: ${describeError(out.body)}`)
      }
      const token = stringField(out.body, "securityToken")
      if (token === undefined) {
        throw new Error(`${mode}: comms_provision_channels(${agentId}) returned no securityToken: ${JSON.stringify(out.body)}`)
      }
      return token
    }
    const status = async (c: Connected, i: number) => {
      const agent = pick(agents, i)
      const out = await callTool(c.client, "comms_get_channel_status", { agentId: agent.agentId, securityToken: agent.token })
      if (out.isError) {
        throw new Error(`${mode}: comms_get_channel_status(${agent.agentId}) returned isError: ${describeError(out.body)}`)
      }
    }

    await withClients(url, master, 1, async ([c]) => {
      if (c === undefined) throw new Error("no client")
      log(`${mode}: ${provisionWarmup} warm-up + ${cfg.m} sequential provisions`)
      for (let i = 0; i < provisionWarmup; i++) await provision(c, `bench-warm-${i}`)
      const prov = await measure(running, () =>
        sequential(cfg.m, async (i) => {
          const agentId = `bench-${i}`
          agents.push({ agentId, token: await provision(c, agentId) })
        }))
      rows.push({ label: `${mode}: provision, sequential`, summary: prov, floor: floor.seq })

      log(`${mode}: ${cfg.warmup} warm-up + ${cfg.k} sequential status calls`)
      await sequential(cfg.warmup, (i) => status(c, i))
      const seq = await measure(running, () => sequential(cfg.k, (i) => status(c, i)))
      rows.push({ label: `${mode}: status, sequential`, summary: seq, floor: floor.seq })
    })

    if (cfg.concurrency > 0 && floor.conc !== undefined) {
      const concFloor = floor.conc
      log(`${mode}: ${cfg.concN} status calls over ${cfg.concurrency} clients`)
      await withClients(url, master, cfg.concurrency, async (clients) => {
        await concurrent(clients.length, Math.min(cfg.warmup, cfg.concN), (w, i) => status(pick(clients, w), i))
        const conc = await measure(running, () => concurrent(clients.length, cfg.concN, (w, i) => status(pick(clients, w), i)))
        rows.push({ label: `${mode}: status, ${cfg.concurrency} clients`, summary: conc, floor: concFloor })
      })
    }
    if (running.proc.exitCode !== null || running.proc.signalCode !== null) {
      throw new Error(`${running.name} exited during the run\n${running.tail()}`)
    }
  } catch (e) {
    const tail = child?.tail() ?? ""
    const message = e instanceof Error ? e.message : String(e)
    throw new Error(tail.length > 0 && !message.includes(tail) ? `${message}\n--- server output (tail) ---\n${tail}` : message)
  } finally {
    await child?.kill()
    if (child !== undefined) {
      const counts = [...child.lineCounts()].map(([k, v]) => `${v} ${k}`).join(", ")
      const events = [...child.events()].map(([k, v]) => `${JSON.stringify(k)}×${v}`).join(", ")
      notes.push(
        `${mode}: server output ${counts.length > 0 ? counts : "none"}` + (events.length > 0 ? `; events: ${events}` : "")
      )
    }
    fs.rmSync(tmp, { recursive: true, force: true })
  }
}

// ---------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------

const fmt = (x: number, digits: number) => Number.isFinite(x) ? x.toFixed(digits) : "-"

const printTable = (): void => {
  const header = [
    "measure",
    "n",
    "p50 ms",
    "p99 ms",
    "ops/s",
    "p50 ×floor",
    "p99 ×floor",
    "ops/s ×floor",
    "srv CPU ms/op",
    "srv CPU ×floor",
    "cli CPU ms/op"
  ]
  const body = rows.map((r) => [
    r.label,
    String(r.summary.n),
    fmt(r.summary.p50, 2),
    fmt(r.summary.p99, 2),
    fmt(r.summary.opsPerSec, 0),
    r.floor === undefined ? "1" : fmt(r.summary.p50 / r.floor.p50, 2),
    r.floor === undefined ? "1" : fmt(r.summary.p99 / r.floor.p99, 2),
    r.floor === undefined ? "1" : fmt(r.summary.opsPerSec / r.floor.opsPerSec, 3),
    fmt(r.summary.serverCpuMsPerOp, 2),
    r.floor === undefined ? "1" : fmt(r.summary.serverCpuMsPerOp / r.floor.serverCpuMsPerOp, 2),
    fmt(r.summary.clientCpuMsPerOp, 2)
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ")
  const cpus = os.cpus()
  console.log(
    `agentos-comms bench — Node ${process.version}, ${cpus.length} CPUs (${cpus[0]?.model.trim() ?? "?"}), ${os.platform()} ${os.arch()}`
  )
  console.log(
    `floor: bare MCP SDK (node:http + StreamableHTTPServerTransport, low-level Server, no-op tool), child process; ` +
      `SDK client in the bench process`
  )
  console.log(
    `counts: N=${cfg.n} M=${cfg.m} K=${cfg.k} warm-up=${cfg.warmup} concurrency=${cfg.concurrency}×${cfg.concN}; ` +
      `×floor = ours / floor (sequential rows vs the sequential floor, concurrent rows vs the concurrent floor)`
  )
  console.log(
    "srv CPU = user+sys CPU of the server process during the measure (/proc/<pid>/stat, 10 ms ticks) per op; " +
      "cli CPU = the same for this (client) process"
  )
  console.log("")
  console.log(line(header))
  console.log(line(header.map((_, i) => "-".repeat(widths[i] ?? 0))))
  for (const r of body) console.log(line(r))
  if (notes.length > 0) {
    console.log("")
    for (const n of notes) console.log(n)
  }
}

/**
 * The SDK client's fetch adds an abort listener to its transport's signal per
 * request, and undici removes it only when the request is garbage collected:
 * Node then warns (MaxListenersExceededWarning) once per request past 1500.
 * Harmless for a bench; count them instead of printing thousands of lines.
 */
let listenerWarnings = 0
process.removeAllListeners("warning")
process.on("warning", (w) => {
  if (w.name === "MaxListenersExceededWarning") listenerWarnings++
  else process.stderr.write(`${w.name}: ${w.message}\n`)
})

const main = async (): Promise<void> => {
  const started = Date.now()
  const floor = await runFloor()
  for (const mode of cfg.modes) await runOurs(mode, floor)
  if (listenerWarnings > 0) notes.push(`client side: ${listenerWarnings} MaxListenersExceededWarning (SDK client fetch abort listeners) suppressed`)
  notes.push(`total bench time ${((Date.now() - started) / 1000).toFixed(1)} s`)
  printTable()
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    if (rows.length > 0) printTable()
    process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`)
    process.exit(1)
  }
)
