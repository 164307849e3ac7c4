/**
 * Rows accepted, forwarded, drained: Twilio-signed inbound SMS form posts from
 * concurrent keep-alive senders to `POST /webhooks/<agent>/sms` — accepted per
 * second, forwarded to the callback receiver per second, and how long after
 * the last post was answered the last callback arrived — vs the floor: bare
 * node:http + the same HMAC check + one PGlite insert (scripts/bench/floor-inbound.ts).
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { type Child, spawnChild } from "../child.ts"
import { cfg, log, type Mode } from "../config.ts"
import { accepted, describeStatuses, postAll, prepareSmsPosts, type Receiver } from "../inbound.ts"
import { cpuMark, cpuSince, withClient } from "../measure.ts"
import { addDetail, addNote, addVerdict } from "../report.ts"
import { provision, type Server } from "../server.ts"
import { nowMs, type Summary, summarize } from "../stats.ts"

const FLOOR_LABEL = "node:http + Twilio HMAC + 1 PGlite insert"
export const INBOUND_TABLE = `inbound webhooks — ${cfg.inboundN} signed SMS posts (after ${cfg.inboundWarmup} warm-up) from ` +
  `${cfg.inboundConcurrency} keep-alive senders; floor: ${FLOOR_LABEL}, same storage mode. "forwarded": per message ` +
  `POST start → its signed callback here (no latency ratio), msg/s from the first post to the last callback`

interface InboundRun {
  readonly accepted: Summary
  /** Forwarded to the callback receiver (ours only). */
  readonly forwarded: Summary | undefined
  /** Seconds from the last post answered to the last callback received (ours only; NaN on timeout). */
  readonly drainS: number
}

/** Warm-up, then the timed posts; with a receiver, also waits until every message was forwarded. */
const runLoad = async (opts: {
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
    prepareSmsPosts({ baseUrl: opts.baseUrl, agentId: opts.agentId, authToken: opts.authToken, from: cfg.humanNumber, to: opts.to, n, label })
  const post = async (n: number, label: string) => {
    const posts = prepare(n, label)
    const run = await postAll({ host: "127.0.0.1", port: opts.port, posts, concurrency: cfg.inboundConcurrency })
    const ok = accepted(run)
    if (ok !== n) {
      throw new Error(
        `${opts.name}: ${n - ok} of ${n} signed inbound posts were not answered 2xx (${describeStatuses(run)}); ` +
          `first answers: ${run.failures.join(" | ")}`
      )
    }
    return { run, posts }
  }
  const receiver = opts.receiver
  if (cfg.inboundWarmup > 0) {
    const before = receiver?.count(opts.agentId) ?? 0
    await post(cfg.inboundWarmup, "warm-up")
    if (receiver !== undefined && await receiver.waitFor(opts.agentId, before + cfg.inboundWarmup, cfg.forwardTimeoutMs) === undefined) {
      throw new Error(`${opts.name}: warm-up messages not all forwarded within ${cfg.forwardTimeoutMs / 1000} s`)
    }
  }
  const target = (receiver?.count(opts.agentId) ?? 0) + cfg.inboundN
  const mark = await cpuMark(opts.server)
  const { run, posts } = await post(cfg.inboundN, "measure")
  const postsDoneAt = nowMs()
  const acceptedSummary = summarize(run.timed.latencies, run.timed.wallMs, await cpuSince(opts.server, mark))
  if (receiver === undefined) return { accepted: acceptedSummary, forwarded: undefined, drainS: Number.NaN }

  const doneAt = await receiver.waitFor(opts.agentId, target, cfg.forwardTimeoutMs)
  const allCpu = await cpuSince(opts.server, mark)
  const lags: Array<number> = []
  for (const p of posts) {
    const arrived = receiver.arrivals.get(p.sid)
    const started = run.startedAt.get(p.sid)
    if (arrived !== undefined && started !== undefined) lags.push(arrived - started)
  }
  if (doneAt === undefined) {
    addNote(
      `${opts.name}: TIMEOUT — only ${lags.length} of ${cfg.inboundN} messages forwarded within ` +
        `${cfg.forwardTimeoutMs / 1000} s; the forwarded row counts those`
    )
  }
  let last = doneAt ?? run.t0
  if (doneAt === undefined) for (const t of receiver.arrivals.values()) last = Math.max(last, t)
  return {
    accepted: acceptedSummary,
    forwarded: summarize(lags, last - run.t0, allCpu),
    drainS: doneAt === undefined ? Number.NaN : Math.max(0, doneAt - postsDoneAt) / 1000
  }
}

/** The floor, in its own child process; returns its accepted summary. */
export const runInboundFloor = async (mode: Mode, qualifier: string): Promise<Summary> => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "agentos-bench-floor-"))
  const token = randomBytes(24).toString("base64url")
  const child = spawnChild(`inbound floor (${mode})`, "scripts/bench/floor-inbound.ts", {
    PORT: "0",
    AUTH_TOKEN: token,
    DATA_DIR: mode === "memory" ? "" : path.join(tmp, "pglite")
  })
  try {
    const port = Number((await child.waitForLine(/^LISTENING (\d+)$/, 30_000))[1])
    log(`inbound floor (${mode}): ${cfg.inboundWarmup} warm-up + ${cfg.inboundN} signed posts over ${cfg.inboundConcurrency} senders`)
    const run = await runLoad({
      name: `inbound floor (${mode})`,
      server: child,
      port,
      baseUrl: `http://127.0.0.1:${port}`,
      agentId: "floor-agent",
      authToken: token,
      to: "+12025550199",
      receiver: undefined
    })
    const prefix = qualifier.length > 0 ? `${qualifier}: ` : ""
    addDetail(INBOUND_TABLE, { label: `${prefix}floor: ${FLOOR_LABEL}`, summary: run.accepted, floor: undefined })
    return run.accepted
  } finally {
    await child.kill()
    fs.rmSync(tmp, { recursive: true, force: true })
  }
}

export const runInbound = async (server: Server, floor: Summary, qualifier: string): Promise<void> => {
  const prefix = qualifier.length > 0 ? `${qualifier}: ` : ""
  const target = await withClient(server.url, server.master, (c) => provision(c, "bench-inbound"))
  if (target.number === undefined) throw new Error("the provisioned agent has no phone number")
  log(`${prefix}${cfg.inboundWarmup} warm-up + ${cfg.inboundN} signed inbound SMS posts over ${cfg.inboundConcurrency} senders`)
  const run = await runLoad({
    name: `${prefix}inbound`,
    server: server.child,
    port: server.port,
    baseUrl: server.base,
    agentId: target.agentId,
    authToken: server.sandboxToken,
    to: target.number,
    receiver: server.receiver
  })
  addDetail(INBOUND_TABLE, { label: `${prefix}inbound SMS webhook, accepted (2xx)`, summary: run.accepted, floor })
  addVerdict({ id: "accepted", qualifier, value: run.accepted.opsPerSec, floor: floor.opsPerSec, floorLabel: "floor 2xx/s" })
  if (run.forwarded === undefined) return
  addDetail(INBOUND_TABLE, { label: `${prefix}inbound SMS → forwarded to callback`, summary: run.forwarded, floor, latencyVsFloor: false })
  addVerdict({ id: "forwarded", qualifier, value: run.forwarded.opsPerSec, floor: floor.opsPerSec, floorLabel: "floor 2xx/s" })
  addVerdict({ id: "drained", qualifier, value: run.drainS, floor: Number.NaN, floorLabel: "-" })
}
