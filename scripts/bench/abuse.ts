/**
 * Abuse bench (issue 11 Must-show): one address (127.0.0.1) makes 1,000
 * unauthenticated `initialize` calls, holds 300 `GET /sse` streams and 300
 * connections that send a body at 1 byte/s, while an authenticated client
 * from another address (127.0.0.2) makes tool calls. Reported: whether the
 * authenticated client connected, its tool-call p99 idle and under attack,
 * and their ratio (target: <= 2).
 *
 * The server runs in this process (whole app, sandbox carrier, in-memory
 * PGlite) on 127.0.0.1; the attack mostly holds sockets, so its own client
 * cost here is small. `runAbuseBench()` is the entry point (the bench menu
 * calls it); run alone: `node --import tsx scripts/bench/abuse.ts`.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as HttpServer from "@effect/platform/HttpServer"
import { Agent, request } from "node:http"
import { TEST_MASTER_TOKEN, testConfig } from "../../layers/Test.ts"
import { AppLive, HttpLive } from "../../src/Server.ts"

export interface AbuseBenchResult {
  readonly authenticatedConnected: boolean
  readonly idleP99Ms: number
  readonly attackP99Ms: number
  readonly ratio: number
  readonly anonymousInitialize: Readonly<Record<string, number>>
  readonly sseHeld: number
  readonly slowBodiesHeld: number
}

const p99 = (xs: ReadonlyArray<number>) => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? Number.NaN
}

interface Reply {
  readonly status: number
  readonly headers: Record<string, string | Array<string> | undefined>
  readonly body: string
}

const post = (port: number, path: string, body: string, headers: Record<string, string>, agent?: Agent) =>
  new Promise<Reply>((resolve, reject) => {
    const req = request({
      host: "127.0.0.1",
      port,
      path,
      method: "POST",
      agent,
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", host: "localhost", ...headers }
    }, (res) => {
      let text = ""
      res.setEncoding("utf8")
      res.on("data", (c: string) => {
        text += c
      })
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }))
    })
    req.on("error", reject)
    req.end(body)
  })

const initialize = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "bench", version: "0" } }
})

export const runAbuseBench = (options: {
  readonly calls?: number
  readonly anonymousInitialize?: number
  readonly sse?: number
  readonly slowBodies?: number
} = {}): Promise<AbuseBenchResult> => {
  const calls = options.calls ?? 300
  const program = Effect.gen(function*() {
    const server = yield* HttpServer.HttpServer
    const port = server.address._tag === "TcpAddress" ? server.address.port : 0
    return yield* Effect.promise(async () => {
      // the authenticated client: its own address, keep-alive, a bearer on the connection
      const authAgent = new Agent({ keepAlive: true, localAddress: "127.0.0.2", maxSockets: 1 })
      const bearer = { authorization: `Bearer ${TEST_MASTER_TOKEN}` }
      const init = await post(port, "/mcp", initialize, bearer, authAgent)
      const session = String(init.headers["mcp-session-id"] ?? "")
      const inSession = { ...bearer, "mcp-session-id": session, "mcp-protocol-version": "2025-06-18" }
      await post(port, "/mcp", JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }), inSession, authAgent)
      let id = 10
      const call = (name: string, args: Record<string, unknown>) =>
        post(port, "/mcp", JSON.stringify({ jsonrpc: "2.0", id: ++id, method: "tools/call", params: { name, arguments: args } }), inSession, authAgent)
      await call("comms_provision_channels", {
        agentId: "bench-abuse",
        displayName: "Bench",
        greeting: "hi",
        systemPrompt: "p",
        country: "US",
        capabilities: { phone: true, whatsapp: false, email: true, voiceAi: false }
      })
      const measure = async () => {
        const times: Array<number> = []
        for (let i = 0; i < calls; i++) {
          const t0 = performance.now()
          const r = await call("comms_get_channel_status", { agentId: "bench-abuse" })
          if (r.status !== 200) throw new Error(`authenticated call failed: ${r.status}`)
          times.push(performance.now() - t0)
        }
        return times
      }
      await measure() // warm-up
      const idle = p99(await measure())

      // the attack, all from 127.0.0.1
      const attackAgent = new Agent({ keepAlive: false })
      const held: Array<{ destroy: () => void }> = []
      let sseHeld = 0
      let slowHeld = 0
      for (let i = 0; i < (options.sse ?? 300); i++) {
        const req = request({ host: "127.0.0.1", port, path: "/sse", agent: attackAgent, headers: { host: "localhost", accept: "text/event-stream" } }, (res) => {
          if (res.statusCode === 200) sseHeld++
          res.resume()
        })
        req.on("error", () => undefined)
        req.end()
        held.push(req)
      }
      for (let i = 0; i < (options.slowBodies ?? 300); i++) {
        const req = request({
          host: "127.0.0.1",
          port,
          path: "/mcp",
          method: "POST",
          agent: attackAgent,
          headers: { host: "localhost", "content-type": "application/json", "content-length": "100000" }
        })
        req.on("error", () => undefined)
        req.on("socket", (s) => s.on("connect", () => slowHeld++))
        req.write("{")
        const trickle = setInterval(() => req.writable && req.write(" "), 1000)
        held.push({ destroy: () => (clearInterval(trickle), req.destroy()) })
      }
      const anonymousInitialize: Record<string, number> = {}
      const flood = (async () => {
        const n = options.anonymousInitialize ?? 1000
        for (let i = 0; i < n; i += 20) {
          const batch = await Promise.all(Array.from({ length: Math.min(20, n - i) }, () =>
            post(port, "/mcp", initialize, {}, attackAgent).then((r) => r.status, () => 0)))
          for (const s of batch) anonymousInitialize[s] = (anonymousInitialize[s] ?? 0) + 1
        }
      })()
      await new Promise((r) => setTimeout(r, 500))
      const attack = p99(await measure())
      await flood
      const second = await post(port, "/mcp", initialize, bearer, new Agent({ localAddress: "127.0.0.2" }))
      for (const h of held) h.destroy()
      authAgent.destroy()
      return {
        authenticatedConnected: second.status === 200,
        idleP99Ms: Math.round(idle * 100) / 100,
        attackP99Ms: Math.round(attack * 100) / 100,
        ratio: Math.round((attack / idle) * 100) / 100,
        anonymousInitialize,
        sseHeld,
        slowBodiesHeld: slowHeld
      } satisfies AbuseBenchResult
    })
  })
  const app = HttpLive.pipe(Layer.provideMerge(AppLive), Layer.provide(testConfig({ RATE_LIMIT_PER_ADDRESS_BURST: "100" })))
  return Effect.runPromise(Effect.scoped(Effect.flatMap(Layer.build(app), (ctx) => Effect.provide(program, ctx))))
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runAbuseBench().then((r) => {
    process.stdout.write(`ABUSE_JSON ${JSON.stringify(r)}\n`)
    process.exit(0)
  }, (e: unknown) => {
    process.stderr.write(`abuse bench failed: ${String(e)}\n`)
    process.exit(1)
  })
}
