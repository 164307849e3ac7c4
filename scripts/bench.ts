/**
 * `npm run bench`: figures of agentos-comms, each as a ratio to a floor
 * measured in the same run on the same machine. Sections (`BENCH_SECTIONS`,
 * comma-separated, default all):
 *
 * - core: provision and status latency over MCP; floor: a bare MCP SDK server
 *   (node:http + StreamableHTTPServerTransport, low-level `Server`, one no-op
 *   tool, no Effect).
 * - messaging: `comms_send_message` latency (sequential, agent A's own token)
 *   to a human number (sandbox outbox) and to another agent (sandbox delivery
 *   to its signed inbound webhook, forwarded to the callback receiver);
 *   floor: the same no-op MCP SDK tool.
 * - inbound: Twilio-signed inbound SMS form posts from concurrent senders to
 *   `POST /webhooks/<agent>/sms`: accepted per second (and POST latency), and
 *   forwarded per second (until the callback receiver in this process has seen
 *   every message); floor: bare node:http + the same Twilio HMAC check + one
 *   PGlite insert (scripts/bench/floor-inbound.ts), same storage mode.
 * - guard: scripts/bench/guard.ts in a child process (admit + settle µs vs a
 *   SELECT 1 / single INSERT floor; heap per idle GuardState and per idle
 *   agent actor vs a bare Effect fiber-and-queue floor).
 *
 * Servers run as child processes; the MCP client, the webhook senders and the
 * callback receiver run here. Prints tables to stdout, progress to stderr.
 * Counts come from the environment:
 *
 *   BENCH_SECTIONS     core,messaging,inbound,guard                 (default all four)
 *   BENCH_N            floor: sequential no-op calls                (default 2000)
 *   BENCH_WARMUP       warm-up calls before each sequential run     (default 200)
 *   BENCH_M            provisions per server run, at most 300       (default 200)
 *   BENCH_K            sequential status calls                      (default 1000)
 *   BENCH_CONCURRENCY  clients of the concurrent runs, 0 = skip     (default 8)
 *   BENCH_CONC_N       calls in each concurrent run                 (default 2000)
 *   BENCH_SEND_K       sequential sends per recipient kind          (default 400)
 *   BENCH_SEND_WARMUP  warm-up sends per recipient kind             (default 50)
 *   BENCH_HUMAN_NUMBER the human recipient of sends and sender of inbound posts (default +12025550123)
 *   BENCH_INBOUND_N    signed inbound posts per measure             (default 1500)
 *   BENCH_INBOUND_WARMUP  warm-up posts before each measure         (default 200)
 *   BENCH_INBOUND_CONCURRENCY  concurrent senders                   (default 32)
 *   BENCH_FORWARD_TIMEOUT_S  wait for forwarded callbacks, seconds  (default 120)
 *   GUARD_BENCH_N / GUARD_BENCH_AGENTS / GUARD_BENCH_ACTORS  guard.ts counts (default here 1500 / 4000 / 10000: memory per idle agent at 10,000 agents)
 *   BENCH_MODES        server runs: "disk", "memory" or both        (default "disk,memory")
 *   BENCH_SERVER_NODE_ARGS  extra node flags for our server, space-separated
 *                      (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"; default none)
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { type Child, freePort, processCpuMs, spawnChild, waitForHttp200 } from "./bench/child.ts"
import { accepted, describeStatuses, postAll, prepareSmsPosts, type Receiver, startReceiver } from "./bench/inbound.ts"
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

const parseList = <A extends string>(name: string, fallback: string, allowed: ReadonlyArray<A>): ReadonlyArray<A> => {
  const raw = process.env[name] ?? fallback
  const out: Array<A> = []
  for (const item of raw.split(",").map((s) => s.trim()).filter((s) => s.length > 0)) {
    const found = allowed.find((a) => a === item)
    if (found === undefined) {
      process.stderr.write(`bench: ${name}: unknown ${JSON.stringify(item)} (use ${allowed.join(", ")})\n`)
      process.exit(2)
    }
    if (!out.includes(found)) out.push(found)
  }
  return out
}

type Mode = "disk" | "memory"
type Section = "core" | "messaging" | "inbound" | "guard"

const cfg = {
  sections: parseList<Section>("BENCH_SECTIONS", "core,messaging,inbound,guard", ["core", "messaging", "inbound", "guard"]),
  n: envInt("BENCH_N", 2000, 1, 1_000_000),
  warmup: envInt("BENCH_WARMUP", 200, 0, 1_000_000),
  m: envInt("BENCH_M", 200, 1, 300),
  k: envInt("BENCH_K", 1000, 1, 1_000_000),
  concurrency: envInt("BENCH_CONCURRENCY", 8, 0, 256),
  concN: envInt("BENCH_CONC_N", 2000, 1, 1_000_000),
  sendK: envInt("BENCH_SEND_K", 400, 1, 1_000_000),
  sendWarmup: envInt("BENCH_SEND_WARMUP", 50, 1, 1_000_000),
  inboundN: envInt("BENCH_INBOUND_N", 1500, 1, 1_000_000),
  inboundWarmup: envInt("BENCH_INBOUND_WARMUP", 200, 0, 1_000_000),
  inboundConcurrency: envInt("BENCH_INBOUND_CONCURRENCY", 32, 1, 1024),
  forwardTimeoutMs: envInt("BENCH_FORWARD_TIMEOUT_S", 120, 1, 3600) * 1000,
  guardN: envInt("GUARD_BENCH_N", 1500, 1, 1_000_000),
  guardAgents: envInt("GUARD_BENCH_AGENTS", 4000, 1, 1_000_000),
  guardActors: envInt("GUARD_BENCH_ACTORS", 10_000, 0, 1_000_000),
  modes: parseList<Mode>("BENCH_MODES", "disk,memory", ["disk", "memory"]),
  serverNodeArgs: (process.env["BENCH_SERVER_NODE_ARGS"] ?? "").split(" ").filter((s) => s.length > 0)
}
const has = (s: Section) => cfg.sections.includes(s)
/** Provisions done before the timed ones (warm-up), with their own agentIds. */
const provisionWarmup = 5
/** How long our server may take to stop after SIGTERM before it is SIGKILLed (CPU profiles are written at exit). */
const SERVER_STOP_GRACE_MS = 10_000
/** A human US number (555-01xx: fictional): sends to it land in the sandbox outbox. */
const HUMAN_NUMBER = process.env["BENCH_HUMAN_NUMBER"] ?? "+12025550123"

interface Row {
  readonly label: string
  readonly summary: Summary
  /** The floor summary this row is compared with; undefined for a floor row. */
  readonly floor: Summary | undefined
  /** False when the row's latencies measure something else than the floor's (no p50/p99 ratios then). */
  readonly latencyVsFloor?: boolean
}

/** Rows of the MCP table (core + messaging) and of the inbound table. */
const mcpRows: Array<Row> = []
const inboundRows: Array<Row> = []
const notes: Array<string> = []
let guardFigures: GuardFigures | undefined

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

const withClient = <A>(url: string, bearer: string | undefined, use: (client: Connected) => Promise<A>): Promise<A> =>
  withClients(url, bearer, 1, ([c]) => {
    if (c === undefined) throw new Error("no client")
    return use(c)
  })

const pick = <A>(xs: ReadonlyArray<A>, i: number): A => {
  const x = xs[i % xs.length]
  if (x === undefined) throw new Error("empty list")
  return x
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null

/** `body[k1][k2]…` when every step is an object. */
const at = (body: unknown, ...keys: ReadonlyArray<string>): unknown => {
  let cur = body
  for (const k of keys) cur = isRecord(cur) ? cur[k] : undefined
  return cur
}

const numAt = (body: unknown, ...keys: ReadonlyArray<string>): number => {
  const v = at(body, ...keys)
  return typeof v === "number" ? v : Number.NaN
}

const elapsedSince = (started: number) => `${((Date.now() - started) / 1000).toFixed(1)} s`

// ---------------------------------------------------------------------------
// MCP floor
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
    const seq = await withClient(url, undefined, async (c) => {
      await sequential(cfg.warmup, () => noop(c))
      return measure(child, () => sequential(cfg.n, () => noop(c)))
    })
    mcpRows.push({ label: "floor no-op, sequential", summary: seq, floor: undefined })
    let conc: Summary | undefined
    if (cfg.concurrency > 0 && has("core")) {
      log(`floor: ${cfg.concN} no-op calls over ${cfg.concurrency} clients`)
      conc = await withClients(url, undefined, cfg.concurrency, async (clients) => {
        await concurrent(clients.length, Math.min(cfg.warmup, cfg.concN), (w) => noop(pick(clients, w)))
        return measure(child, () => concurrent(clients.length, cfg.concN, (w) => noop(pick(clients, w))))
      })
      mcpRows.push({ label: `floor no-op, ${cfg.concurrency} clients`, summary: conc, floor: undefined })
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

/** CPU counters of the server child and of this process, for measures timed by hand. */
const cpuMark = (server: Child) => ({ server: processCpuMs(server.proc.pid), client: process.cpuUsage() })
const cpuSince = (server: Child, mark: ReturnType<typeof cpuMark>) => {
  const s1 = processCpuMs(server.proc.pid)
  const c = process.cpuUsage(mark.client)
  return {
    serverMs: mark.server === undefined || s1 === undefined ? Number.NaN : s1 - mark.server,
    clientMs: (c.user + c.system) / 1000
  }
}

// ---------------------------------------------------------------------------
// Inbound floor
// ---------------------------------------------------------------------------

interface InboundRun {
  readonly accepted: Summary
  /** Forwarded to the callback receiver (ours only). */
  readonly forwarded: Summary | undefined
}

/**
 * Warm-up, then `cfg.inboundN` signed posts over `cfg.inboundConcurrency`
 * senders; with a receiver, also waits until every message was forwarded.
 * Throws when a post is not answered 2xx.
 */
const runInboundLoad = async (opts: {
  readonly name: string
  readonly server: Child
  readonly port: number
  readonly baseUrl: string
  readonly agentId: string
  readonly authToken: string
  readonly to: string
  readonly receiver: Receiver | undefined
}): Promise<InboundRun> => {
  const prepare = (n: number, label: string) =>
    prepareSmsPosts({
      baseUrl: opts.baseUrl,
      agentId: opts.agentId,
      authToken: opts.authToken,
      from: HUMAN_NUMBER,
      to: opts.to,
      n,
      label
    })
  const post = async (n: number, label: string) => {
    const run = await postAll({ host: "127.0.0.1", port: opts.port, posts: prepare(n, label), concurrency: cfg.inboundConcurrency })
    const ok = accepted(run)
    if (ok !== n) {
      throw new Error(
        `${opts.name}: ${n - ok} of ${n} signed inbound posts were not answered 2xx (${describeStatuses(run)}); ` +
          `first answers: ${run.failures.join(" | ")}`
      )
    }
    return run
  }
  const forwardedBefore = opts.receiver?.count(opts.agentId) ?? 0
  if (cfg.inboundWarmup > 0) {
    await post(cfg.inboundWarmup, "warm-up")
    if (opts.receiver !== undefined) {
      const done = await opts.receiver.waitFor(opts.agentId, forwardedBefore + cfg.inboundWarmup, cfg.forwardTimeoutMs)
      if (done === undefined) {
        throw new Error(
          `${opts.name}: only ${opts.receiver.count(opts.agentId) - forwardedBefore} of ${cfg.inboundWarmup} warm-up ` +
            `messages were forwarded to the callback receiver within ${cfg.forwardTimeoutMs / 1000} s\n${opts.server.tail()}`
        )
      }
    }
  }
  const posts = prepare(cfg.inboundN, "measure")
  const target = (opts.receiver?.count(opts.agentId) ?? 0) + cfg.inboundN
  const mark = cpuMark(opts.server)
  const run = await postAll({ host: "127.0.0.1", port: opts.port, posts, concurrency: cfg.inboundConcurrency })
  const postCpu = cpuSince(opts.server, mark)
  const ok = accepted(run)
  if (ok !== cfg.inboundN) {
    throw new Error(
      `${opts.name}: ${cfg.inboundN - ok} of ${cfg.inboundN} signed inbound posts were not answered 2xx ` +
        `(${describeStatuses(run)}); first answers: ${run.failures.join(" | ")}\n${opts.server.tail()}`
    )
  }
  const acceptedSummary = summarize(run.timed.latencies, run.timed.wallMs, postCpu)
  if (opts.receiver === undefined) return { accepted: acceptedSummary, forwarded: undefined }

  const receiver = opts.receiver
  const doneAt = await receiver.waitFor(opts.agentId, target, cfg.forwardTimeoutMs)
  const allCpu = cpuSince(opts.server, mark)
  const lags: Array<number> = []
  for (const p of posts) {
    const arrived = receiver.arrivals.get(p.sid)
    const started = run.startedAt.get(p.sid)
    if (arrived !== undefined && started !== undefined) lags.push(arrived - started)
  }
  if (doneAt === undefined) {
    notes.push(
      `${opts.name}: TIMEOUT — only ${lags.length} of ${cfg.inboundN} messages forwarded within ` +
        `${cfg.forwardTimeoutMs / 1000} s after the posts started; the forwarded row counts those`
    )
  }
  const wallMs = (doneAt ?? Math.max(run.t0, ...receiver.arrivals.values())) - run.t0
  return { accepted: acceptedSummary, forwarded: summarize(lags, wallMs, allCpu) }
}

const inboundFloorLabel = "node:http + Twilio HMAC + 1 PGlite insert"

const runInboundFloor = async (mode: Mode): Promise<Summary> => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "agentos-bench-floor-"))
  const token = randomBytes(24).toString("base64url")
  const child = spawnChild(`inbound floor (${mode})`, ["--import", "tsx", path.join(root, "scripts/bench/floor-inbound.ts")], {
    PORT: "0",
    AUTH_TOKEN: token,
    DATA_DIR: mode === "memory" ? "" : path.join(tmp, "pglite")
  }, root)
  try {
    const m = await child.waitForLine(/^LISTENING (\d+)$/, 30_000)
    const port = Number(m[1])
    log(`inbound floor (${mode}): ${cfg.inboundWarmup} warm-up + ${cfg.inboundN} signed posts over ${cfg.inboundConcurrency} senders`)
    const run = await runInboundLoad({
      name: `inbound floor (${mode})`,
      server: child,
      port,
      baseUrl: `http://127.0.0.1:${port}`,
      agentId: "floor-agent",
      authToken: token,
      to: "+12025550199",
      receiver: undefined
    })
    inboundRows.push({
      label: `floor (${mode}): ${inboundFloorLabel}, ${cfg.inboundConcurrency} senders`,
      summary: run.accepted,
      floor: undefined
    })
    return run.accepted
  } finally {
    await child.kill()
    fs.rmSync(tmp, { recursive: true, force: true })
  }
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

interface Provisioned {
  readonly agentId: string
  readonly token: string
  /** The agent's phone number (channels.phone.number). */
  readonly number: string | undefined
}

const runOurs = async (mode: Mode, floor: Floor | undefined, inboundFloor: Summary | undefined): Promise<void> => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "agentos-bench-"))
  const port = await freePort()
  const master = randomBytes(24).toString("base64url")
  const admin = randomBytes(24).toString("base64url")
  const sandboxToken = randomBytes(24).toString("base64url")
  const signingSecret = `whsec_${randomBytes(32).toString("base64")}`
  const base = `http://127.0.0.1:${port}`
  const receiver = await startReceiver(signingSecret)
  let child: Child | undefined
  try {
    child = spawnChild(`agentos-comms (${mode})`, [...cfg.serverNodeArgs, "--import", "tsx", path.join(root, "src/main.ts")], {
      PORT: String(port),
      HOST: "127.0.0.1",
      DATA_DIR: mode === "memory" ? ":memory:" : path.join(tmp, "data"),
      MASTER_SECURITY_TOKEN: master,
      ADMIN_TOKEN: admin,
      INITIAL_AGENT_POOL_SIZE: String(cfg.m + provisionWarmup + 20),
      LOG_LEVEL: "WARN", // Effect labels: ALL FATAL ERROR WARN INFO DEBUG TRACE OFF ("Warning" is rejected)
      AUTH_LOCKOUT_THRESHOLD: "100000",
      // the messaging section sends hundreds of messages per agent: limits out of the way
      DEFAULT_MAX_ACTIONS_PER_MINUTE: "1000000",
      DEFAULT_MAX_ACTIONS_PER_HOUR: "1000000",
      DEFAULT_MAX_ACTIONS_PER_DAY: "1000000",
      DEFAULT_MAX_SPEND_PER_DAY: "1000000",
      DEFAULT_MAX_SPEND_PER_MONTH: "1000000",
      DEFAULT_MAX_MESSAGES_PER_DAY_SAME_CONTACT: "1000000",
      // inbound: known signing key and public URL (so the bench signs the exact URL), callbacks to the receiver here
      SANDBOX_AUTH_TOKEN: sandboxToken,
      WEBHOOK_BASE_URL: base,
      AGENTOS_CALLBACK_URL: receiver.callbackUrl,
      CALLBACK_SIGNING_SECRET: signingSecret
    }, root)
    const startupMs = await waitForHttp200(child, `${base}/health`, 60_000)
    notes.push(`${mode}: server answered /health ${(startupMs / 1000).toFixed(1)} s after spawn`)
    const url = `${base}/mcp`
    const running = child

    const provision = async (c: Connected, agentId: string): Promise<Provisioned> => {
      const out = await callTool(c.client, "comms_provision_channels", provisionArgs(agentId))
      if (out.isError) {
        throw new Error(`${mode}: comms_provision_channels(${agentId}) returned isError: ${describeError(out.body)}`)
      }
      const token = stringField(out.body, "securityToken")
      if (token === undefined) {
        throw new Error(`${mode}: comms_provision_channels(${agentId}) returned no securityToken: ${JSON.stringify(out.body)}`)
      }
      const number = at(out.body, "channels", "phone", "number")
      return { agentId, token, number: typeof number === "string" ? number : undefined }
    }

    // ── core: provision and status ──
    if (has("core") && floor !== undefined) {
      const agents: Array<Provisioned> = []
      const status = async (c: Connected, i: number) => {
        const agent = pick(agents, i)
        const out = await callTool(c.client, "comms_get_channel_status", { agentId: agent.agentId, securityToken: agent.token })
        if (out.isError) {
          throw new Error(`${mode}: comms_get_channel_status(${agent.agentId}) returned isError: ${describeError(out.body)}`)
        }
      }
      await withClient(url, master, async (c) => {
        log(`${mode}: ${provisionWarmup} warm-up + ${cfg.m} sequential provisions`)
        for (let i = 0; i < provisionWarmup; i++) await provision(c, `bench-warm-${i}`)
        const prov = await measure(running, () =>
          sequential(cfg.m, async (i) => {
            agents.push(await provision(c, `bench-${i}`))
          }))
        mcpRows.push({ label: `${mode}: provision, sequential`, summary: prov, floor: floor.seq })

        log(`${mode}: ${cfg.warmup} warm-up + ${cfg.k} sequential status calls`)
        await sequential(cfg.warmup, (i) => status(c, i))
        const seq = await measure(running, () => sequential(cfg.k, (i) => status(c, i)))
        mcpRows.push({ label: `${mode}: status, sequential`, summary: seq, floor: floor.seq })
      })

      if (cfg.concurrency > 0 && floor.conc !== undefined) {
        const concFloor = floor.conc
        log(`${mode}: ${cfg.concN} status calls over ${cfg.concurrency} clients`)
        await withClients(url, master, cfg.concurrency, async (clients) => {
          await concurrent(clients.length, Math.min(cfg.warmup, cfg.concN), (w, i) => status(pick(clients, w), i))
          const conc = await measure(running, () => concurrent(clients.length, cfg.concN, (w, i) => status(pick(clients, w), i)))
          mcpRows.push({ label: `${mode}: status, ${cfg.concurrency} clients`, summary: conc, floor: concFloor })
        })
      }
    }

    // ── messaging: comms_send_message ──
    if (has("messaging") && floor !== undefined) {
      const [a, b] = await withClient(url, master, async (c) => [
        await provision(c, "bench-msg-a"),
        await provision(c, "bench-msg-b")
      ] as const)
      await withClient(url, a.token, async (c) => {
        /** One send from A; "quiet_hours" when refused for quiet hours (only accepted when `quietOk`). */
        const send = async (to: string, i: number, quietOk: boolean): Promise<"ok" | "quiet_hours"> => {
          const out = await callTool(c.client, "comms_send_message", {
            agentId: a.agentId,
            securityToken: a.token,
            to,
            channel: "sms",
            body: `bench message ${i}`
          })
          if (out.isError) {
            if (quietOk && at(out.body, "error", "code") === "quiet_hours") return "quiet_hours"
            throw new Error(`${mode}: comms_send_message(to ${to}) returned isError: ${describeError(out.body)}`)
          }
          const status = stringField(out.body, "status")
          if (status !== "queued" && status !== "sent") {
            throw new Error(
              `${mode}: comms_send_message(to ${to}) answered status ${JSON.stringify(status)} ` +
                `(expected "queued" or "sent"; are the DEFAULT_MAX_* limits of the bench applied?): ${JSON.stringify(out.body)}`
            )
          }
          return "ok"
        }

        // to a human number: lands in the sandbox outbox (refused during the recipient's quiet hours)
        log(`${mode}: ${cfg.sendWarmup} warm-up + ${cfg.sendK} sequential sends to a human number`)
        if (await send(HUMAN_NUMBER, -1, true) === "quiet_hours") {
          notes.push(
            `${mode}: send_message → human number skipped: TCPA quiet hours at ${HUMAN_NUMBER} now ` +
              `(${new Date().toISOString()}); the agent-to-agent row is exempt`
          )
        } else {
          await sequential(cfg.sendWarmup, (i) => send(HUMAN_NUMBER, i, false).then(() => undefined))
          const human = await measure(running, () =>
            sequential(cfg.sendK, (i) => send(HUMAN_NUMBER, i, false).then(() => undefined)))
          mcpRows.push({ label: `${mode}: send_message → human, sequential`, summary: human, floor: floor.seq })
        }

        // to agent B by agentId: sandbox delivery to B's signed inbound webhook, then the callback to the receiver
        log(`${mode}: ${cfg.sendWarmup} warm-up + ${cfg.sendK} sequential sends to another agent`)
        const deliveredBefore = receiver.count(b.agentId)
        await sequential(cfg.sendWarmup, (i) => send(b.agentId, i, false).then(() => undefined))
        const toAgent = await measure(running, () => sequential(cfg.sendK, (i) => send(b.agentId, i, false).then(() => undefined)))
        mcpRows.push({ label: `${mode}: send_message → agent, sequential`, summary: toAgent, floor: floor.seq })
        const expected = deliveredBefore + cfg.sendWarmup + cfg.sendK
        const drainStart = Date.now()
        const drained = await receiver.waitFor(b.agentId, expected, cfg.forwardTimeoutMs)
        notes.push(
          drained === undefined
            ? `${mode}: agent-to-agent sends: only ${receiver.count(b.agentId) - deliveredBefore} of ` +
              `${cfg.sendWarmup + cfg.sendK} reached the callback receiver (as B's inbound) within ${cfg.forwardTimeoutMs / 1000} s`
            : `${mode}: agent-to-agent sends: all ${cfg.sendWarmup + cfg.sendK} reached the callback receiver as B's inbound ` +
              `(${elapsedSince(drainStart)} after the last send was answered)`
        )
      })
    }

    // ── inbound: signed webhook posts, forwarded to the callback receiver ──
    if (has("inbound") && inboundFloor !== undefined) {
      const target = await withClient(url, master, (c) => provision(c, "bench-inbound"))
      if (target.number === undefined) throw new Error(`${mode}: the provisioned agent has no phone number`)
      log(`${mode}: ${cfg.inboundWarmup} warm-up + ${cfg.inboundN} signed inbound SMS posts over ${cfg.inboundConcurrency} senders`)
      const run = await runInboundLoad({
        name: `${mode} inbound`,
        server: running,
        port,
        baseUrl: base,
        agentId: target.agentId,
        authToken: sandboxToken,
        to: target.number,
        receiver
      })
      inboundRows.push({
        label: `${mode}: inbound SMS webhook, accepted (2xx)`,
        summary: run.accepted,
        floor: inboundFloor
      })
      if (run.forwarded !== undefined) {
        inboundRows.push({
          label: `${mode}: inbound SMS → forwarded to callback`,
          summary: run.forwarded,
          floor: inboundFloor,
          latencyVsFloor: false
        })
      }
    }

    if (receiver.rejected() > 0 || receiver.repeats() > 0) {
      notes.push(
        `${mode}: callback receiver: ${receiver.rejected()} deliveries rejected (bad Standard Webhooks signature or not a ` +
          `message callback), ${receiver.repeats()} repeated webhook-ids`
      )
    }
    if (running.proc.exitCode !== null || running.proc.signalCode !== null) {
      throw new Error(`${running.name} exited during the run\n${running.tail()}`)
    }
  } catch (e) {
    const tail = child?.tail() ?? ""
    const message = e instanceof Error ? e.message : String(e)
    throw new Error(tail.length > 0 && !message.includes(tail) ? `${message}\n--- server output (tail) ---\n${tail}` : message)
  } finally {
    const stopped = await child?.kill(SERVER_STOP_GRACE_MS)
    await receiver.close()
    if (stopped !== undefined) {
      notes.push(
        stopped.forced
          ? `${mode}: SERVER DID NOT STOP within ${SERVER_STOP_GRACE_MS / 1000} s of SIGTERM: killed with SIGKILL`
          : `${mode}: server stopped ${(stopped.ms / 1000).toFixed(1)} s after SIGTERM`
      )
    }
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
// Guard and actor memory (scripts/bench/guard.ts, child process)
// ---------------------------------------------------------------------------

interface Micro {
  readonly n: number
  readonly mean: number
  readonly p50: number
  readonly p99: number
}

interface GuardFigures {
  readonly floorSelect: Micro
  readonly floorInsert: Micro
  readonly admit: Micro
  readonly settle: Micro
  readonly admitSettle: Micro
  readonly admitSettleEmail: Micro
  readonly idleStates: number
  readonly heapPerGuardState: number
  readonly loadUsPerAgent: number
  readonly warmStates: number
  readonly heapPerWarmGuardState: number
  readonly actors:
    | { readonly actors: number; readonly heapPerActor: number; readonly startUsPerActor: number; readonly floorPerActor: number }
    | undefined
}

const micro = (u: unknown, key: string): Micro => ({
  n: numAt(u, key, "n"),
  mean: numAt(u, key, "mean"),
  p50: numAt(u, key, "p50"),
  p99: numAt(u, key, "p99")
})

const runGuard = async (): Promise<void> => {
  log(
    `guard: scripts/bench/guard.ts (N=${cfg.guardN}, ${cfg.guardAgents} idle GuardStates, ${cfg.guardActors} idle actors)`
  )
  const started = Date.now()
  const child = spawnChild("guard bench", ["--expose-gc", "--import", "tsx", path.join(root, "scripts/bench/guard.ts")], {
    GUARD_BENCH_N: String(cfg.guardN),
    GUARD_BENCH_AGENTS: String(cfg.guardAgents),
    GUARD_BENCH_ACTORS: String(cfg.guardActors)
  }, root)
  try {
    const m = await child.waitForLine(/^GUARD_JSON (.*)$/, 600_000)
    const parsed: unknown = JSON.parse(m[1] ?? "null")
    const actors = at(parsed, "actors")
    guardFigures = {
      floorSelect: micro(parsed, "floorSelect"),
      floorInsert: micro(parsed, "floorInsert"),
      admit: micro(parsed, "admit"),
      settle: micro(parsed, "settle"),
      admitSettle: micro(parsed, "admitSettle"),
      admitSettleEmail: micro(parsed, "admitSettleEmail"),
      idleStates: numAt(parsed, "idleStates"),
      heapPerGuardState: numAt(parsed, "heapPerGuardState"),
      loadUsPerAgent: numAt(parsed, "loadUsPerAgent"),
      warmStates: numAt(parsed, "warmStates"),
      heapPerWarmGuardState: numAt(parsed, "heapPerWarmGuardState"),
      actors: isRecord(actors)
        ? {
          actors: numAt(actors, "actors"),
          heapPerActor: numAt(actors, "heapPerActor"),
          startUsPerActor: numAt(actors, "startUsPerActor"),
          floorPerActor: numAt(actors, "floorPerActor")
        }
        : undefined
    }
    notes.push(`guard: child ran ${elapsedSince(started)}`)
  } finally {
    await child.kill()
  }
}

// ---------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------

const fmt = (x: number, digits: number) => Number.isFinite(x) ? x.toFixed(digits) : "-"

const printRows = (header: ReadonlyArray<string>, body: ReadonlyArray<ReadonlyArray<string>>): void => {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ")
  console.log(line(header))
  console.log(line(header.map((_, i) => "-".repeat(widths[i] ?? 0))))
  for (const r of body) console.log(line(r))
}

const printTable = (rows: ReadonlyArray<Row>, opsLabel: string): void => {
  const header = [
    "measure",
    "n",
    "p50 ms",
    "p99 ms",
    opsLabel,
    "p50 ×floor",
    "p99 ×floor",
    `${opsLabel} ×floor`,
    "srv CPU ms/op",
    "srv CPU ×floor",
    "cli CPU ms/op"
  ]
  const latencyRatio = (r: Row, of: (s: Summary) => number) =>
    r.floor === undefined ? "1" : r.latencyVsFloor === false ? "-" : fmt(of(r.summary) / of(r.floor), 2)
  printRows(header, rows.map((r) => [
    r.label,
    String(r.summary.n),
    fmt(r.summary.p50, 2),
    fmt(r.summary.p99, 2),
    fmt(r.summary.opsPerSec, 0),
    latencyRatio(r, (x) => x.p50),
    latencyRatio(r, (x) => x.p99),
    r.floor === undefined ? "1" : fmt(r.summary.opsPerSec / r.floor.opsPerSec, 3),
    fmt(r.summary.serverCpuMsPerOp, 2),
    r.floor === undefined ? "1" : fmt(r.summary.serverCpuMsPerOp / r.floor.serverCpuMsPerOp, 2),
    fmt(r.summary.clientCpuMsPerOp, 2)
  ]))
}

const printGuard = (g: GuardFigures): void => {
  console.log(
    `guard path (scripts/bench/guard.ts, child process, in-memory PGlite, in-process calls, µs): ` +
      `×INSERT = ours / one single-row INSERT, ×SELECT 1 = ours / one SELECT 1 (p50 and mean)`
  )
  console.log("")
  const rows: ReadonlyArray<readonly [string, Micro]> = [
    ["floor: SELECT 1", g.floorSelect],
    ["floor: INSERT one usage_logs row", g.floorInsert],
    ["admit (SMS, US number)", g.admit],
    ["settle (ok → usage_logs)", g.settle],
    ["admit + settle (SMS, US number)", g.admitSettle],
    ["admit + settle (email)", g.admitSettleEmail]
  ]
  printRows(
    ["measure", "n", "mean µs", "p50 µs", "p99 µs", "p50 ×INSERT", "mean ×INSERT", "p50 ×SELECT 1"],
    rows.map(([label, s]) => [
      label,
      fmt(s.n, 0),
      fmt(s.mean, 1),
      fmt(s.p50, 1),
      fmt(s.p99, 1),
      fmt(s.p50 / g.floorInsert.p50, 2),
      fmt(s.mean / g.floorInsert.mean, 2),
      fmt(s.p50 / g.floorSelect.p50, 2)
    ])
  )
  console.log("")
  console.log(
    "memory per idle agent (heapUsed delta after GC / agents); floor: a Map entry + Effect bounded queue + one fiber " +
      "blocked on Queue.take (the least an actor per agent holds in Effect)"
  )
  console.log("")
  const a = g.actors
  const memRows: Array<ReadonlyArray<string>> = []
  if (a !== undefined) memRows.push(["floor: Map entry + queue + blocked fiber", fmt(a.actors, 0), fmt(a.floorPerActor, 0), "1", "-"])
  memRows.push([
    "idle GuardState (via load)",
    fmt(g.idleStates, 0),
    fmt(g.heapPerGuardState, 0),
    a === undefined ? "-" : fmt(g.heapPerGuardState / a.floorPerActor, 2),
    fmt(g.loadUsPerAgent, 0)
  ])
  memRows.push(["GuardState with 20 window entries", fmt(g.warmStates, 0), fmt(g.heapPerWarmGuardState, 0), a === undefined ? "-" : fmt(g.heapPerWarmGuardState / a.floorPerActor, 2), "-"])
  if (a !== undefined) {
    memRows.push([
      "idle agent actor (AgentRuntime, GetStatus)",
      fmt(a.actors, 0),
      fmt(a.heapPerActor, 0),
      fmt(a.heapPerActor / a.floorPerActor, 2),
      fmt(a.startUsPerActor, 0)
    ])
  }
  printRows(["measure", "agents", "bytes/agent", "×floor", "start µs/agent"], memRows)
}

const printReport = (): void => {
  const cpus = os.cpus()
  console.log(
    `agentos-comms bench — Node ${process.version}, ${cpus.length} CPUs (${cpus[0]?.model.trim() ?? "?"}), ${os.platform()} ${os.arch()}; ` +
      `sections: ${cfg.sections.join(",")}; modes: ${cfg.modes.join(",")}`
  )
  console.log(
    "×floor = ours / floor measured in this run; srv CPU = user+sys CPU of the server process during the measure " +
      "(/proc/<pid>/stat, 10 ms ticks) per op; cli CPU = the same for this (client) process"
  )
  if (mcpRows.length > 0) {
    console.log("")
    console.log(
      `MCP tools — floor: bare MCP SDK (node:http + StreamableHTTPServerTransport, low-level Server, no-op tool), ` +
        `child process; SDK client here. counts: N=${cfg.n} M=${cfg.m} K=${cfg.k} warm-up=${cfg.warmup} ` +
        `concurrency=${cfg.concurrency}×${cfg.concN} sends=${cfg.sendWarmup}+${cfg.sendK}; sequential rows vs the ` +
        `sequential floor, concurrent rows vs the concurrent floor`
    )
    console.log(
      `send_message: agent A (own token) → ${HUMAN_NUMBER} (sandbox outbox) or → agent B by agentId (sandbox ` +
        "delivery to B's signed webhook in the background, then B's callback): both also get a signed status " +
        "callback to A's message-status webhook in the background"
    )
    console.log("")
    printTable(mcpRows, "ops/s")
  }
  if (inboundRows.length > 0) {
    console.log("")
    console.log(
      `inbound webhooks — ${cfg.inboundN} Twilio-signed SMS form posts (after ${cfg.inboundWarmup} warm-up) from ` +
        `${cfg.inboundConcurrency} keep-alive senders; floor: ${inboundFloorLabel} (scripts/bench/floor-inbound.ts, ` +
        `same storage mode). "accepted": POST latency and 2xx/s; "forwarded": per message, POST start → its ` +
        `signed callback at the receiver here (no latency ratio: the floor does not forward), and messages/s from the ` +
        `first post until the last callback arrived, vs the floor's 2xx/s; its srv CPU covers accepting and forwarding`
    )
    console.log("")
    printTable(inboundRows, "msg/s")
  }
  if (guardFigures !== undefined) {
    console.log("")
    printGuard(guardFigures)
  }
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

const loadAverage = () => os.loadavg().map((x) => x.toFixed(2)).join(" / ")

const main = async (): Promise<void> => {
  const started = Date.now()
  const loadAtStart = loadAverage()
  const needMcpFloor = has("core") || has("messaging")
  const needServer = needMcpFloor || has("inbound")
  const floor = needMcpFloor ? await runFloor() : undefined
  if (needServer) {
    for (const mode of cfg.modes) {
      const inboundFloor = has("inbound") ? await runInboundFloor(mode) : undefined
      await runOurs(mode, floor, inboundFloor)
    }
  }
  if (has("guard")) await runGuard()
  if (listenerWarnings > 0) notes.push(`client side: ${listenerWarnings} MaxListenersExceededWarning (SDK client fetch abort listeners) suppressed`)
  notes.push(`total bench time ${elapsedSince(started)}`)
  notes.push(
    `machine load average (1/5/15 min) at start ${loadAtStart}, at end ${loadAverage()} on ${os.cpus().length} CPUs ` +
      "(other processes share this machine: compare ratios of one run, not absolute figures across runs)"
  )
  printReport()
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    if (mcpRows.length > 0 || inboundRows.length > 0 || guardFigures !== undefined) printReport()
    process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`)
    process.exit(1)
  }
)
