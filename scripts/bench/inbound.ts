/**
 * Inbound webhook helpers for `npm run bench`: Twilio-style signed SMS form
 * posts sent by concurrent keep-alive senders, and the callback receiver (the
 * orchestrator's `AGENTOS_CALLBACK_URL`) that counts forwarded deliveries and
 * checks their Standard Webhooks signatures.
 */
import { randomBytes } from "node:crypto"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { verify } from "../../src/webhooks/StandardWebhooks.ts"
import { computeTwilioSignature } from "../../src/providers/twilio/TwilioSignature.ts"
import type { Timed } from "./mcp.ts"
import { nowMs } from "./stats.ts"

// ---------------------------------------------------------------------------
// Signed form posts
// ---------------------------------------------------------------------------

export interface SignedPost {
  /** Path (and query) of the request. */
  readonly path: string
  readonly body: string
  readonly signature: string
  /** The MessageSid, unique per post. */
  readonly sid: string
}

const hex32 = () => randomBytes(16).toString("hex")

/**
 * `n` inbound SMS form posts to `<baseUrl>/webhooks/<agentId>/sms`, signed with
 * `authToken` over the exact URL `baseUrl` + path (as Twilio does), each with
 * a fresh MessageSid. Built before any timing starts.
 */
export const prepareSmsPosts = (opts: {
  readonly baseUrl: string
  readonly agentId: string
  readonly authToken: string
  readonly from: string
  readonly to: string
  readonly n: number
  readonly label: string
}): ReadonlyArray<SignedPost> => {
  const path = `/webhooks/${encodeURIComponent(opts.agentId)}/sms`
  const url = opts.baseUrl + path
  const accountSid = `AC${hex32()}`
  const posts: Array<SignedPost> = []
  for (let i = 0; i < opts.n; i++) {
    const sid = `SM${hex32()}`
    const params: Record<string, string> = {
      MessageSid: sid,
      SmsSid: sid,
      AccountSid: accountSid,
      From: opts.from,
      To: opts.to,
      Body: `bench inbound ${opts.label} ${i}`,
      NumMedia: "0"
    }
    posts.push({
      path,
      body: new URLSearchParams(params).toString(),
      signature: computeTwilioSignature(opts.authToken, url, params),
      sid
    })
  }
  return posts
}

export interface PostRun {
  readonly timed: Timed
  /** HTTP status → count (0 = network error). */
  readonly statuses: ReadonlyMap<number, number>
  /** A few distinct non-2xx answers (status and the start of the body), for error messages. */
  readonly failures: ReadonlyArray<string>
  /** When each post was started (nowMs), by MessageSid. */
  readonly startedAt: ReadonlyMap<string, number>
  /** nowMs when the first post started. */
  readonly t0: number
}

const postOnce = (agent: http.Agent, host: string, port: number, p: SignedPost): Promise<{ status: number; body: string }> =>
  new Promise((resolve) => {
    const req = http.request({
      host,
      port,
      method: "POST",
      path: p.path,
      agent,
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        "content-length": Buffer.byteLength(p.body),
        "x-twilio-signature": p.signature
      }
    }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }))
      res.on("error", (e) => resolve({ status: 0, body: String(e) }))
    })
    req.on("error", (e) => resolve({ status: 0, body: String(e) }))
    req.end(p.body)
  })

/** Sends every post over `concurrency` keep-alive connections (one loop each), timing each post. */
export const postAll = async (opts: {
  readonly host: string
  readonly port: number
  readonly posts: ReadonlyArray<SignedPost>
  readonly concurrency: number
  /** Called as each post is answered, with its HTTP status (0 = network error). */
  readonly onAnswer?: (status: number) => void
}): Promise<PostRun> => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency })
  const latencies: Array<number> = []
  const statuses = new Map<number, number>()
  const failures: Array<string> = []
  const startedAt = new Map<string, number>()
  let next = 0
  const t0 = nowMs()
  try {
    await Promise.all(Array.from({ length: opts.concurrency }, async () => {
      for (;;) {
        const i = next++
        const p = opts.posts[i]
        if (p === undefined) return
        const t = nowMs()
        startedAt.set(p.sid, t)
        const out = await postOnce(agent, opts.host, opts.port, p)
        latencies.push(nowMs() - t)
        statuses.set(out.status, (statuses.get(out.status) ?? 0) + 1)
        opts.onAnswer?.(out.status)
        if ((out.status < 200 || out.status >= 300) && failures.length < 5) {
          const line = `${out.status} ${out.body.slice(0, 200)}`
          if (!failures.includes(line)) failures.push(line)
        }
      }
    }))
    return { timed: { latencies, wallMs: nowMs() - t0 }, statuses, failures, startedAt, t0 }
  } finally {
    agent.destroy()
  }
}

/** Number of 2xx answers of a run. */
export const accepted = (run: PostRun): number => {
  let n = 0
  for (const [status, count] of run.statuses) if (status >= 200 && status < 300) n += count
  return n
}

export const describeStatuses = (run: PostRun): string =>
  [...run.statuses].sort(([a], [b]) => a - b).map(([s, c]) => `${s === 0 ? "network error" : s}×${c}`).join(", ")

// ---------------------------------------------------------------------------
// Callback receiver
// ---------------------------------------------------------------------------

export interface Receiver {
  readonly port: number
  /** The AGENTOS_CALLBACK_URL template for the server. */
  readonly callbackUrl: string
  /** Distinct deliveries (by webhook-id) per agentId so far. */
  readonly count: (agentId: string) => number
  /** Distinct deliveries, all agents. */
  readonly total: () => number
  /** When (nowMs) the first delivery of each providerMessageId arrived. */
  readonly arrivals: ReadonlyMap<string, number>
  /** Deliveries whose signature did not verify, or that were not JSON callbacks. */
  readonly rejected: () => number
  /** Repeated deliveries of a webhook-id already seen. */
  readonly repeats: () => number
  /** Resolves with nowMs when `count(agentId) >= n`, or undefined after `timeoutMs`. */
  readonly waitFor: (agentId: string, n: number, timeoutMs: number) => Promise<number | undefined>
  readonly close: () => Promise<void>
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null

/**
 * A node:http receiver at `/agents/<agentId>/inbound` answering 204; verifies
 * each delivery's Standard Webhooks signature with `secret`.
 */
export const startReceiver = (secret: string): Promise<Receiver> =>
  new Promise((resolve, reject) => {
    const perAgent = new Map<string, number>()
    const seen = new Set<string>()
    const arrivals = new Map<string, number>()
    const waiters = new Set<() => void>()
    let rejected = 0
    let repeats = 0
    const server = http.createServer((req, res) => {
      const m = /^\/agents\/([^/]+)\/inbound$/.exec(req.url ?? "")
      if (req.method !== "POST" || m === null) {
        res.writeHead(404).end()
        return
      }
      const agentId = decodeURIComponent(m[1] ?? "")
      const chunks: Array<Buffer> = []
      req.on("data", (c: Buffer) => chunks.push(c))
      req.on("end", () => {
        const now = nowMs()
        const body = Buffer.concat(chunks).toString("utf8")
        const verdict = verify({ secret, headers: req.headers, body, nowMillis: Date.now() })
        let providerMessageId: string | undefined
        try {
          const parsed: unknown = JSON.parse(body)
          if (isRecord(parsed) && typeof parsed["providerMessageId"] === "string") providerMessageId = parsed["providerMessageId"]
        } catch {
          // not JSON
        }
        const webhookId = req.headers["webhook-id"]
        if (!verdict.ok || providerMessageId === undefined || typeof webhookId !== "string") {
          rejected++
          res.writeHead(400).end()
          return
        }
        if (seen.has(webhookId)) {
          repeats++
        } else {
          seen.add(webhookId)
          perAgent.set(agentId, (perAgent.get(agentId) ?? 0) + 1)
          if (!arrivals.has(providerMessageId)) arrivals.set(providerMessageId, now)
          for (const w of waiters) w()
        }
        res.writeHead(204).end()
      })
    })
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      resolve({
        port,
        callbackUrl: `http://127.0.0.1:${port}/agents/{agentId}/inbound`,
        count: (agentId) => perAgent.get(agentId) ?? 0,
        total: () => seen.size,
        arrivals,
        rejected: () => rejected,
        repeats: () => repeats,
        waitFor: (agentId, n, timeoutMs) =>
          new Promise((done) => {
            if ((perAgent.get(agentId) ?? 0) >= n) return done(nowMs())
            const timer = setTimeout(() => {
              waiters.delete(check)
              done(undefined)
            }, timeoutMs)
            const check = () => {
              if ((perAgent.get(agentId) ?? 0) >= n) {
                clearTimeout(timer)
                waiters.delete(check)
                done(nowMs())
              }
            }
            waiters.add(check)
          }),
        close: () =>
          new Promise((done) => {
            server.closeAllConnections()
            server.close(() => done())
          })
      })
    })
  })
