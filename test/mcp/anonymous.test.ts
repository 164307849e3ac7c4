import { createServer } from "node:http"
import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { expect, layer } from "@effect/vitest"
import { LATEST_PROTOCOL_VERSION } from "@modelcontextprotocol/sdk/types.js"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as McpHttp from "../../src/mcp/McpHttp.ts"
import { FakeRegistry, testToken } from "./fixtures/fakeRegistry.ts"

/**
 * Anonymous sessions (no valid bearer, no authenticated tool call yet) cost a
 * small, bounded allowance and can never take the places of clients that
 * prove a token.
 */
const serverLayer = (options: Omit<McpHttp.McpHttpOptions, "server">) =>
  HttpLayerRouter.serve(McpHttp.layer({ server: { name: "test-server", version: "1.2.3" }, ...options }), {
    disableLogger: true,
    disableListenLog: true
  }).pipe(
    Layer.provide(FakeRegistry),
    Layer.provideMerge(NodeHttpServer.layer(() => createServer(), { port: 0, host: "127.0.0.1" }))
  )

const baseUrl = Effect.flatMap(HttpServer.HttpServer, ({ address }) =>
  address._tag === "TcpAddress"
    ? Effect.succeed(`http://127.0.0.1:${address.port}`)
    : Effect.dieMessage("expected a TCP address"))

const post = (url: string, body: string, headers: Record<string, string> = {}) =>
  Effect.promise(async () => {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
      body
    })
    return { status: response.status, headers: response.headers, text: await response.text() }
  })

const initializeBody = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: "raw", version: "0" } }
})

const initialize = (url: string, headers: Record<string, string> = {}) =>
  Effect.map(post(`${url}/mcp`, initializeBody, headers), (r) => ({ status: r.status, id: r.headers.get("mcp-session-id") ?? "" }))

const inSession = (url: string, id: string, body: object) =>
  post(`${url}/mcp`, JSON.stringify(body), { "mcp-session-id": id, "mcp-protocol-version": LATEST_PROTOCOL_VERSION })

const ping = (url: string, id: string) => Effect.map(inSession(url, id, { jsonrpc: "2.0", id: 9, method: "ping" }), (r) => r.status)

const bearer = { authorization: `Bearer ${testToken}` }

layer(
  serverLayer({ maxSessions: 2, maxAnonymousSessions: 3, anonymousSessionsPerAddress: 2 }),
  { excludeTestServices: true }
)("anonymous session allowance", (it) => {
  it.effect("one address flooding initialize only churns its own anonymous sessions; tokens still get in", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const flood = yield* Effect.forEach(Array.from({ length: 50 }), () => initialize(url))
      // every anonymous initialize is answered, but the address keeps at most 2 live sessions
      expect(flood.every((r) => r.status === 200)).toBe(true)
      const alive = yield* Effect.forEach(flood, (r) => ping(url, r.id))
      expect(alive.filter((s) => s === 200).length).toBe(2)
      expect(alive.slice(-2)).toEqual([200, 200])
      // an authenticated client is admitted beside them
      const authed = yield* initialize(url, bearer)
      expect(authed.status).toBe(200)
      expect(yield* ping(url, authed.id)).toBe(200)
    }))

  it.effect("a wrong bearer on the connection opens an anonymous session, not an authenticated one", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const a = yield* initialize(url, { authorization: "Bearer wrong-token" })
      const b = yield* initialize(url, { authorization: "Bearer wrong-token" })
      const c = yield* initialize(url, { authorization: "Bearer wrong-token" })
      expect([a.status, b.status, c.status]).toEqual([200, 200, 200])
      // it counted against the anonymous allowance of this address: the first one was closed
      expect(yield* ping(url, a.id)).toBe(404)
    }))
})

layer(
  serverLayer({
    maxSessions: 5,
    sessionIdleTimeout: "1 minute",
    anonymousIdleTimeout: "300 millis",
    anonymousSessionsPerAddress: 10
  }),
  { excludeTestServices: true }
)("anonymous idle life", (it) => {
  it.effect("anonymous sessions expire quickly; one proven by an authenticated tool call does not", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const anonymous = yield* initialize(url)
      const promoted = yield* initialize(url)
      const call = yield* inSession(url, promoted.id, {
        jsonrpc: "2.0",
        id: 2,
        method: "tools/call",
        params: { name: "echo", arguments: { securityToken: testToken } }
      })
      expect(call.status).toBe(200)
      yield* Effect.sleep("900 millis")
      expect(yield* ping(url, anonymous.id)).toBe(404)
      expect(yield* ping(url, promoted.id)).toBe(200)
    }))

  it.effect("an anonymous SSE stream with no traffic is closed after the idle time", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const ended = yield* Effect.promise(async () => {
        const started = Date.now()
        const response = await fetch(`${url}/sse`, { headers: { accept: "text/event-stream" } })
        // the body ends when the server closes the stream
        await response.text()
        return { status: response.status, afterMs: Date.now() - started }
      }).pipe(Effect.timeout("10 seconds"))
      expect(ended.status).toBe(200)
      expect(ended.afterMs).toBeGreaterThanOrEqual(250)
    }))
})

layer(serverLayer({ maxSessions: 1, maxAnonymousSessions: 2, anonymousSessionsPerAddress: 10 }), {
  excludeTestServices: true
})("anonymous cap", (it) => {
  it.effect("when anonymous places are full, anonymous clients get 503 and authenticated ones still get in", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const a = yield* initialize(url)
      const b = yield* initialize(url)
      const c = yield* initialize(url)
      expect([a.status, b.status, c.status]).toEqual([200, 200, 503])
      const authed = yield* initialize(url, bearer)
      expect(authed.status).toBe(200)
    }))
})
