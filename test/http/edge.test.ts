/**
 * The HTTP edge of the whole server: Host/Origin validation, per-address
 * token bucket, security headers and CORS, slow and over-connected clients,
 * and the access log (redacted, quiet health, disconnects not errors).
 */
import { describe, expect, it, layer } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import { request as httpRequest } from "node:http"
import * as net from "node:net"
import { TEST_ADMIN_TOKEN, TEST_MASTER_TOKEN } from "../../layers/Test.ts"
import { makeClientAddress } from "../../src/http/ClientAddress.ts"
import { loggablePath, makeTokenBuckets } from "../../src/http/EdgeGuard.ts"
import { AppLive, HttpLive } from "../../src/Server.ts"
import { baseUrl } from "../support/server.ts"

interface LogLine {
  readonly level: string
  readonly message: string
  readonly annotations: Record<string, unknown>
}
const logs: Array<LogLine> = []
const capture = Logger.make(({ annotations, logLevel, message }) => {
  logs.push({
    level: logLevel.label,
    message: Array.isArray(message) ? message.map(String).join(" ") : String(message),
    annotations: Object.fromEntries(HashMap.toEntries(annotations))
  })
})

const server = (env: Record<string, string>) =>
  HttpLive.pipe(
    Layer.provideMerge(AppLive),
    Layer.provide(Layer.mergeAll(
      Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries({
        MASTER_SECURITY_TOKEN: TEST_MASTER_TOKEN,
        ADMIN_TOKEN: TEST_ADMIN_TOKEN,
        PORT: "0",
        HOST: "127.0.0.1",
        DATA_DIR: ":memory:",
        TCPA_QUIET_HOURS: "off",
        ...env
      })))),
      Logger.replace(Logger.defaultLogger, capture),
      Logger.minimumLogLevel(LogLevel.All)
    ))
  )

/** A raw request with full control of Host/Origin (fetch forbids setting Host). */
const raw = (
  url: string,
  options: { method?: string; path: string; headers?: Record<string, string>; body?: string }
) =>
  Effect.async<{ status: number; headers: Record<string, string | Array<string> | undefined>; body: string }>((resume) => {
    const u = new URL(url)
    const req = httpRequest({
      host: u.hostname,
      port: u.port,
      method: options.method ?? "GET",
      path: options.path,
      headers: options.headers ?? {}
    }, (res) => {
      let body = ""
      res.setEncoding("utf8")
      res.on("data", (c: string) => {
        body += c
      })
      res.on("end", () => resume(Effect.succeed({ status: res.statusCode ?? 0, headers: res.headers, body })))
    })
    req.on("error", (e) => resume(Effect.die(e)))
    if (options.body !== undefined) req.write(options.body)
    req.end()
  })

const initialize = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "edge", version: "0" } }
})
const mcpHeaders = { "content-type": "application/json", accept: "application/json, text/event-stream" }

describe("pure parts", () => {
  it("X-Forwarded-For counts only from trusted proxies, read right to left", () => {
    const none = makeClientAddress([])
    expect(none.of("10.0.0.2", "1.2.3.4")).toBe("10.0.0.2")
    const trusted = makeClientAddress(["10.0.0.0/8", "::1"])
    expect(trusted.of("10.0.0.2", "1.2.3.4")).toBe("1.2.3.4")
    // a client-supplied first hop is ignored: the right-most untrusted hop is the client
    expect(trusted.of("10.0.0.2", "6.6.6.6, 1.2.3.4, 10.0.0.9")).toBe("1.2.3.4")
    expect(trusted.of("::ffff:10.0.0.2", "1.2.3.4")).toBe("1.2.3.4")
    expect(trusted.of("::1", "2001:4860::8888")).toBe("2001:4860::8888")
    expect(trusted.of("10.0.0.2", "garbage")).toBe("10.0.0.2")
    expect(trusted.of("8.8.8.8", "1.2.3.4")).toBe("8.8.8.8")
  })

  it("token buckets refill at the configured rate", () => {
    const b = makeTokenBuckets(2, 3)
    expect([b.take("a", 0), b.take("a", 0), b.take("a", 0)]).toEqual([0, 0, 0])
    expect(b.take("a", 0)).toBeGreaterThan(0)
    expect(b.take("b", 0)).toBe(0)
    expect(b.take("a", 600)).toBe(0)
  })

  it("logged paths carry no query and no unsubscribe token", () => {
    expect(loggablePath("/unsubscribe/abc.def-secret?x=1")).toBe("/unsubscribe/[redacted]")
    expect(loggablePath("/messages?sessionId=s3cr3t")).toBe("/messages")
  })
})

layer(
  server({
    WEBHOOK_BASE_URL: "https://comms.example.com",
    ALLOWED_HOSTS: "mcp.internal",
    CORS_ALLOWED_ORIGINS: "https://app.example.com",
    RATE_LIMIT_PER_ADDRESS_BURST: "40",
    RATE_LIMIT_PER_ADDRESS_PER_SECOND: "1",
    MCP_ANON_SESSIONS_PER_ADDRESS: "50"
  }),
  { excludeTestServices: true, timeout: 60_000 }
)("the edge of the running server", (it) => {
  it.effect("foreign Host or Origin gets 403 on /mcp, /sse, /messages and /admin before anything runs", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const foreign = [
        { host: "evil.example" },
        { host: "evil.example:80" },
        { host: "127.0.0.1", origin: "https://evil.example" },
        { host: "localhost", origin: "null" }
      ]
      for (const h of foreign) {
        for (const [method, path] of [["POST", "/mcp"], ["GET", "/sse"], ["POST", "/messages?sessionId=x"], ["GET", "/admin/pool"]] as const) {
          const r = yield* raw(url, { method, path, headers: { ...mcpHeaders, ...h }, ...(method === "POST" ? { body: initialize } : {}) })
          expect(r.status, `${method} ${path} ${JSON.stringify(h)}`).toBe(403)
          expect(JSON.parse(r.body).error.code).toBe("forbidden")
        }
      }
      // the hosts the server is reached by are served
      for (const host of ["localhost", "127.0.0.1", "comms.example.com", "mcp.internal:3100", "[::1]:8080"]) {
        const r = yield* raw(url, { method: "POST", path: "/mcp", headers: { ...mcpHeaders, host }, body: initialize })
        expect(r.status, host).toBe(200)
      }
      const admin = yield* raw(url, {
        path: "/admin/pool",
        headers: { host: "comms.example.com", origin: "https://comms.example.com", authorization: `Bearer ${TEST_ADMIN_TOKEN}` }
      })
      expect(admin.status).toBe(200)
    }))

  it.effect("webhooks still work through the public host of WEBHOOK_BASE_URL, and are not Host-checked", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const answers = yield* Effect.forEach(["comms.example.com", "some-proxy.example"], (host) =>
        raw(url, {
          method: "POST",
          path: "/webhooks/nobody/sms",
          headers: { host, "content-type": "application/x-www-form-urlencoded" },
          body: "From=%2B15550001111&To=%2B15550002222&Body=hi"
        }))
      // the webhook route itself answers (an unsigned request for an unknown agent), whatever the Host
      for (const r of answers) expect(r.body).not.toContain("host name is not served")
      expect(answers[0]?.status).toBe(answers[1]?.status)
    }))

  it.effect("security headers on every response, including the MCP SDK's own; CORS only for allowlisted origins", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const health = yield* raw(url, { path: "/health", headers: { host: "localhost" } })
      expect(health.headers["content-security-policy"]).toContain("default-src 'none'")
      expect(health.headers["x-content-type-options"]).toBe("nosniff")
      const mcp = yield* raw(url, {
        method: "POST",
        path: "/mcp",
        headers: { ...mcpHeaders, host: "localhost", origin: "https://app.example.com" },
        body: initialize
      })
      expect(mcp.status).toBe(200)
      expect(mcp.headers["content-security-policy"]).toContain("frame-ancestors 'none'")
      expect(mcp.headers["access-control-allow-origin"]).toBe("https://app.example.com")
      const preflight = yield* raw(url, {
        method: "OPTIONS",
        path: "/mcp",
        headers: { host: "localhost", origin: "https://app.example.com", "access-control-request-method": "POST" }
      })
      expect(preflight.status).toBe(204)
      expect(preflight.headers["access-control-allow-headers"]).toContain("mcp-session-id")
      const foreignPreflight = yield* raw(url, {
        method: "OPTIONS",
        path: "/mcp",
        headers: { host: "localhost", origin: "https://evil.example" }
      })
      expect(foreignPreflight.status).toBe(403)
      expect(foreignPreflight.headers["access-control-allow-origin"]).toBeUndefined()
    }))

  it.effect("access log: no unsubscribe token or query, /health at debug", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      logs.length = 0
      yield* raw(url, { path: "/unsubscribe/SECRET-TOKEN-123", headers: { host: "localhost" } })
      yield* raw(url, { path: "/health", headers: { host: "localhost" } })
      yield* raw(url, { method: "POST", path: "/messages?sessionId=SESSION-SECRET", headers: { ...mcpHeaders, host: "localhost" }, body: "{}" })
      const text = JSON.stringify(logs)
      expect(text).not.toContain("SECRET-TOKEN-123")
      expect(text).not.toContain("SESSION-SECRET")
      const http = logs.filter((l) => l.message === "http")
      expect(http.find((l) => l.annotations["path"] === "/unsubscribe/[redacted]")).toBeDefined()
      expect(http.find((l) => l.annotations["path"] === "/health")?.level).toBe("DEBUG")
    }))

  it.effect("a client that disconnects from /sse or a /mcp stream is not logged as an error", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      logs.length = 0
      for (const path of ["/sse"]) {
        const controller = new AbortController()
        yield* Effect.promise(async () => {
          const response = await fetch(`${url}${path}`, {
            headers: { accept: "text/event-stream", authorization: `Bearer ${TEST_MASTER_TOKEN}` },
            signal: controller.signal
          })
          expect(response.status).toBe(200)
          const reader = response.body?.getReader()
          await reader?.read()
          controller.abort()
        }).pipe(Effect.catchAllDefect(() => Effect.void))
      }
      yield* Effect.sleep("300 millis")
      const bad = logs.filter((l) => l.level === "ERROR" || l.level === "FATAL" || l.annotations["status"] === 500)
      expect(bad).toEqual([])
      expect(logs.some((l) => l.message === "http client closed" && l.level === "DEBUG")).toBe(true)
    }))

  it.effect("the per-address token bucket answers 429 with Retry-After; a valid bearer is not held back", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const statuses: Array<number> = []
      let retryAfter: string | undefined
      for (let i = 0; i < 60; i++) {
        const r = yield* raw(url, { method: "POST", path: "/mcp", headers: { ...mcpHeaders, host: "localhost" }, body: initialize })
        statuses.push(r.status)
        if (r.status === 429) retryAfter = String(r.headers["retry-after"])
      }
      expect(statuses).toContain(429)
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1)
      const authed = yield* raw(url, {
        method: "POST",
        path: "/mcp",
        headers: { ...mcpHeaders, host: "localhost", authorization: `Bearer ${TEST_MASTER_TOKEN}` },
        body: initialize
      })
      expect(authed.status).toBe(200)
      const hook = yield* raw(url, { method: "POST", path: "/webhooks/nobody/sms", headers: { host: "localhost" }, body: "" })
      expect(hook.status).toBe(429)
    }))
})

layer(
  server({ HTTP_REQUEST_TIMEOUT_SECONDS: "2", HTTP_HEADERS_TIMEOUT_SECONDS: "1", MAX_CONNECTIONS_PER_ADDRESS: "3" }),
  { excludeTestServices: true, timeout: 60_000 }
)("slow and over-connected clients", (it) => {
  const openSocket = (url: string) =>
    Effect.async<net.Socket>((resume) => {
      const u = new URL(url)
      const socket = net.connect(Number(u.port), u.hostname, () => resume(Effect.succeed(socket)))
    })
  const closedWithin = (socket: net.Socket, ms: number) =>
    Effect.async<{ closed: boolean; data: string }>((resume) => {
      let data = ""
      socket.on("data", (d) => {
        data += d.toString()
      })
      const timer = setTimeout(() => resume(Effect.succeed({ closed: false, data })), ms)
      socket.on("close", () => {
        clearTimeout(timer)
        resume(Effect.succeed({ closed: true, data }))
      })
    })

  it.effect("a body trickling at 1 byte/s is cut by the request timeout", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const socket = yield* openSocket(url)
      socket.write("POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
      const trickle = setInterval(() => socket.writable && socket.write(" "), 1000)
      const started = Date.now()
      const result = yield* closedWithin(socket, 8000)
      clearInterval(trickle)
      expect(result.closed).toBe(true)
      expect(Date.now() - started).toBeLessThan(5000)
    }))

  it.effect("headers sent slowly are cut by the headers timeout", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const socket = yield* openSocket(url)
      socket.write("GET /health HTTP/1.1\r\nHost: localhost\r\n")
      const result = yield* closedWithin(socket, 6000)
      expect(result.closed).toBe(true)
    }))

  it.effect("one address may hold a bounded number of open connections", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const held = yield* Effect.forEach([1, 2, 3], () => openSocket(url))
      const fourth = yield* openSocket(url)
      const result = yield* closedWithin(fourth, 2000)
      expect(result.closed).toBe(true)
      // the held ones are still usable
      const first = held[0]!
      first.write("GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
      const answered = yield* closedWithin(first, 3000)
      expect(answered.data).toContain("200 OK")
      for (const s of held) s.destroy()
    }))
})
