/**
 * Voice section of `npm run bench` (entry: `benchVoice`), against a running
 * server started with the sandbox carrier and an instant LLM
 * (SANDBOX_LLM_TOKEN_DELAY_MS=0), SANDBOX_AUTH_TOKEN known to the bench, and a
 * spending cap high enough for the calls (DEFAULT_MAX_SPEND_PER_DAY).
 *
 * - floor: a bare `ws` echo server in this process — prompt in → one text
 *   frame out — over the same loopback, measured the same way;
 * - turn: a real inbound call (signed voice webhook → TwiML → voice-ws with its
 *   token → setup), then `prompt` in → first streamed `text` token out, p50/p99;
 *   server overhead per turn = turn − floor;
 * - concurrent: `concurrency` live calls held at once, each doing `turns`
 *   turns; p99 first-token latency and its ratio to the single-call p99
 *   (target: under 2×).
 *
 * Standalone: `node --import tsx scripts/bench/voice.ts` starts its own server.
 */
import { createHash, randomBytes } from "node:crypto"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import WebSocket, { WebSocketServer } from "ws"
import { computeTwilioSignature } from "../../src/providers/twilio/TwilioSignature.ts"
import { freePort, spawnChild, waitForHttp200 } from "./child.ts"
import { callTool, connect, describeError } from "./mcp.ts"
import { type Summary, nowMs, summarize } from "./stats.ts"

export interface VoiceBenchOptions {
  /** http://127.0.0.1:PORT of the running server. */
  readonly baseUrl: string
  readonly masterToken: string
  /** The server's SANDBOX_AUTH_TOKEN (signs the inbound call webhooks). */
  readonly sandboxAuthToken: string
  readonly turns: number
  readonly warmupTurns: number
  readonly concurrency: number
  /** Pause between a call's turns in the concurrent phase (a caller speaking), ms; starts are spread over it. */
  readonly thinkMs?: number
  readonly log?: (line: string) => void
}

export interface VoiceBenchResult {
  readonly floor: Summary
  readonly turn: Summary
  /** turn p50/p99 minus floor p50/p99 (ms). */
  readonly overheadP50: number
  readonly overheadP99: number
  readonly concurrent: Summary
  readonly concurrentCalls: number
  /** concurrent p99 / single-call p99. */
  readonly concurrentP99Ratio: number
}

const PROMPT = (i: number) => JSON.stringify({ type: "prompt", voicePrompt: `benchmark turn ${i}`, lang: "en-US", last: true })

/** A socket that resolves each turn at its first `text` frame and waits for the turn's `last` before the next. */
const turnRunner = (ws: WebSocket) => {
  let onFirst: (() => void) | undefined
  let onLast: (() => void) | undefined
  ws.on("message", (data) => {
    const m = JSON.parse(data.toString()) as { type: string; last?: boolean }
    if (m.type !== "text") return
    if (onFirst !== undefined) {
      const f = onFirst
      onFirst = undefined
      f()
    }
    if (m.last === true && onLast !== undefined) {
      const l = onLast
      onLast = undefined
      l()
    }
  })
  return async (frame: string): Promise<number> => {
    const first = new Promise<void>((r) => (onFirst = r))
    const last = new Promise<void>((r) => (onLast = r))
    const start = nowMs()
    ws.send(frame)
    await first
    const latency = nowMs() - start
    await last
    return latency
  }
}

const open = (url: string, headers: Record<string, string> = {}) =>
  new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(url, { headers })
    ws.once("open", () => resolve(ws))
    ws.once("unexpected-response", (_q, res) => reject(new Error(`voice-ws refused: ${res.statusCode}`)))
    ws.once("error", reject)
  })

/** The floor: a bare ws server answering each prompt with one text frame (`last: true`). */
const floor = async (n: number, warmup: number): Promise<Summary> => {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 })
  wss.on("connection", (s) => s.on("message", () => s.send(JSON.stringify({ type: "text", token: "ok", last: true }))))
  await new Promise<void>((r) => wss.once("listening", () => r()))
  const port = (wss.address() as { port: number }).port
  const ws = await open(`ws://127.0.0.1:${port}`)
  const run = turnRunner(ws)
  for (let i = 0; i < warmup; i++) await run(PROMPT(i))
  const started = nowMs()
  const latencies: Array<number> = []
  for (let i = 0; i < n; i++) latencies.push(await run(PROMPT(i)))
  const wall = nowMs() - started
  ws.close()
  await new Promise<void>((r) => wss.close(() => r()))
  return summarize(latencies, wall)
}

const fakeSid = () => "CA" + randomBytes(16).toString("hex")

export const benchVoice = async (opts: VoiceBenchOptions): Promise<VoiceBenchResult> => {
  const log = opts.log ?? ((l: string) => console.log(l))
  const master = await connect(`${opts.baseUrl}/mcp`, opts.masterToken)
  const agentId = `bench-voice-${createHash("sha256").update(String(Date.now())).digest("hex").slice(0, 6)}`
  const provisioned = await callTool(master.client, "comms_provision_channels", {
    agentId,
    displayName: "Bench voice",
    greeting: "Hello.",
    systemPrompt: "You are Ben, a benchmark.",
    country: "US",
    capabilities: { phone: true, whatsapp: false, email: false, voiceAi: true }
  })
  await master.close()
  if (provisioned.isError) throw new Error(`provisioning failed: ${describeError(provisioned.body)}`)
  const number = ((provisioned.body as { channels: { phone: { number: string } } }).channels.phone.number)

  /** One live inbound call: signed webhook → TwiML → voice-ws → setup. */
  const call = async () => {
    const sid = fakeSid()
    const hook = `${opts.baseUrl}/webhooks/${agentId}/voice`
    const params = { CallSid: sid, AccountSid: "AC" + "0".repeat(32), From: "+12025550100", To: number, Direction: "inbound", CallStatus: "ringing" }
    const res = await fetch(hook, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": computeTwilioSignature(opts.sandboxAuthToken, hook, params) },
      body: new URLSearchParams(params).toString()
    })
    const twiml = await res.text()
    const url = /<ConversationRelay[^>]*\burl="([^"]+)"/.exec(twiml)?.[1]?.replace(/&amp;/g, "&")
    if (url === undefined) throw new Error(`no ConversationRelay in the answer (${res.status})`)
    const ws = await open(url)
    ws.send(JSON.stringify({ type: "setup", callSid: sid, from: "+12025550100", to: number, customParameters: {} }))
    return { ws, run: turnRunner(ws) }
  }

  log(`voice floor: bare ws echo, ${opts.warmupTurns} warm-up + ${opts.turns} turns`)
  const floorSummary = await floor(opts.turns, opts.warmupTurns)

  log(`voice turn: one call, ${opts.warmupTurns} warm-up + ${opts.turns} turns (prompt → first token)`)
  const single = await call()
  for (let i = 0; i < opts.warmupTurns; i++) await single.run(PROMPT(i))
  const started = nowMs()
  const latencies: Array<number> = []
  for (let i = 0; i < opts.turns; i++) latencies.push(await single.run(PROMPT(i)))
  const turn = summarize(latencies, nowMs() - started)
  single.ws.close()

  const perCall = Math.max(5, Math.ceil(opts.turns / opts.concurrency))
  const think = opts.thinkMs ?? 300
  log(`voice concurrent: ${opts.concurrency} live calls × ${perCall} turns, ${think} ms between a call's turns`)
  const calls = await Promise.all(Array.from({ length: opts.concurrency }, () => call()))
  for (const c of calls) await c.run(PROMPT(0))
  const cStarted = nowMs()
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))
  const all = await Promise.all(calls.map(async (c, k) => {
    const out: Array<number> = []
    await pause((think * k) / calls.length)
    for (let i = 0; i < perCall; i++) {
      out.push(await c.run(PROMPT(i)))
      await pause(think)
    }
    return out
  }))
  const concurrent = summarize(all.flat(), nowMs() - cStarted)
  for (const c of calls) c.ws.close()

  return {
    floor: floorSummary,
    turn,
    overheadP50: turn.p50 - floorSummary.p50,
    overheadP99: turn.p99 - floorSummary.p99,
    concurrent,
    concurrentCalls: opts.concurrency,
    concurrentP99Ratio: concurrent.p99 / turn.p99
  }
}

// ── standalone ──────────────────────────────────────────────────────────────────────────────
if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const port = await freePort()
  const masterToken = randomBytes(24).toString("base64url")
  const sandboxAuthToken = randomBytes(24).toString("base64url")
  const child = spawnChild("agentos-comms (voice bench)", "src/main.ts", {
    PORT: String(port),
    HOST: "127.0.0.1",
    DATA_DIR: ":memory:",
    MASTER_SECURITY_TOKEN: masterToken,
    ADMIN_TOKEN: randomBytes(24).toString("base64url"),
    SANDBOX_AUTH_TOKEN: sandboxAuthToken,
    SANDBOX_LLM_TOKEN_DELAY_MS: "0",
    DEFAULT_MAX_SPEND_PER_DAY: "100000",
    DEFAULT_MAX_SPEND_PER_MONTH: "100000",
    LOG_LEVEL: "warning"
  })
  try {
    await waitForHttp200(child, `http://127.0.0.1:${port}/health`, 60_000)
    const r = await benchVoice({
      baseUrl: `http://127.0.0.1:${port}`,
      masterToken,
      sandboxAuthToken,
      turns: Number(process.env["BENCH_VOICE_TURNS"] ?? 400),
      warmupTurns: 50,
      concurrency: Number(process.env["BENCH_VOICE_CONCURRENCY"] ?? 32)
    })
    const f = (x: number) => x.toFixed(2)
    console.log(`floor (bare ws)        p50 ${f(r.floor.p50)} ms  p99 ${f(r.floor.p99)} ms`)
    console.log(`voice turn (1 call)    p50 ${f(r.turn.p50)} ms  p99 ${f(r.turn.p99)} ms  overhead p50 ${f(r.overheadP50)} / p99 ${f(r.overheadP99)} ms`)
    console.log(`${r.concurrentCalls} concurrent calls    p50 ${f(r.concurrent.p50)} ms  p99 ${f(r.concurrent.p99)} ms  p99 ratio ${f(r.concurrentP99Ratio)}× (target < 2×)`)
  } finally {
    await child.kill()
  }
}
