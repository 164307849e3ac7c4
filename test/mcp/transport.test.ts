import { spawn } from "node:child_process"
import { createServer } from "node:http"
import { fileURLToPath } from "node:url"
import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { describe, expect, it, layer } from "@effect/vitest"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js"
import { CallToolResultSchema, LATEST_PROTOCOL_VERSION } from "@modelcontextprotocol/sdk/types.js"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as McpHttp from "../../src/mcp/McpHttp.ts"
import { type EchoReport, FakeRegistry, testToken } from "./fixtures/fakeRegistry.ts"

const projectRoot = fileURLToPath(new URL("../../", import.meta.url))
const stdioFixture = fileURLToPath(new URL("./fixtures/stdioServer.ts", import.meta.url))

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

/** An SDK client connected over `transport`, closed with the test's scope. */
const connect = <T extends Transport>(transport: T) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const client = new Client({ name: "transport-test", version: "0.0.0" })
      await client.connect(transport)
      return { client, transport }
    }),
    ({ client }) => Effect.promise(() => client.close())
  )

const callEcho = (client: Client, args: Record<string, unknown>) =>
  Effect.promise(async () => {
    const result = CallToolResultSchema.parse(await client.callTool({ name: "echo", arguments: args }))
    const first = result.content[0]
    if (first?.type !== "text") throw new Error("expected a text result")
    const report: EchoReport = JSON.parse(first.text)
    return report
  })

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
const listToolsBody = JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list", params: {} })
const twoMegabytes = JSON.stringify({
  jsonrpc: "2.0",
  id: 3,
  method: "tools/call",
  params: { name: "echo", arguments: { message: "x".repeat(2 * 1024 * 1024) } }
})

/** Opens a session without keeping a GET stream open (so it can go idle). */
const rawInitialize = (url: string, headers: Record<string, string> = {}) =>
  Effect.map(post(`${url}/mcp`, initializeBody, headers), (response) => ({
    status: response.status,
    sessionId: response.headers.get("mcp-session-id")
  }))

const isLoopback = (ip: string) => ip === "127.0.0.1" || ip === "::ffff:127.0.0.1" || ip === "::1"

layer(serverLayer({}), { excludeTestServices: true })("Streamable HTTP /mcp", (it) => {
  it.scoped("lists tools and calls echo; no Authorization means no bearer", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const { client } = yield* connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)))
      expect(client.getServerVersion()).toMatchObject({ name: "test-server", version: "1.2.3" })
      const { tools } = yield* Effect.promise(() => client.listTools())
      expect(tools.map((t) => t.name)).toEqual(["echo"])
      expect(tools[0]?.inputSchema).toEqual({ type: "object", properties: { message: { type: "string" } } })
      const report = yield* callEcho(client, { message: "hi" })
      expect(report.args).toEqual({ message: "hi" })
      expect(report.bearerPresent).toBe(false)
      expect(isLoopback(report.clientIp)).toBe(true)
    }))

  it.scoped("the bearer of requestInit.headers.Authorization reaches the registry", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const { client } = yield* connect(
        new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
          requestInit: { headers: { Authorization: `Bearer ${testToken}` } }
        })
      )
      const report = yield* callEcho(client, { message: "with token" })
      expect(report.bearerPresent).toBe(true)
      expect(report.bearerMatchesTestToken).toBe(true)
      // the registry only ever sees the token wrapped in Redacted; it is not echoed back
      expect(JSON.stringify(report)).not.toContain(testToken)
    }))

  it.scoped("the bearer is taken per HTTP request, not per session", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      let authorization: string | undefined = undefined
      const { client } = yield* connect(
        new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
          fetch: (input, init) => {
            const headers = new Headers(init?.headers)
            if (authorization !== undefined) headers.set("authorization", authorization)
            return fetch(input, { ...init, headers })
          }
        })
      )
      expect((yield* callEcho(client, {})).bearerPresent).toBe(false)
      authorization = `Bearer ${testToken}`
      expect((yield* callEcho(client, {})).bearerMatchesTestToken).toBe(true)
      authorization = "Basic dXNlcjpwYXNz"
      expect((yield* callEcho(client, {})).bearerPresent).toBe(false)
    }))

  it.scoped("DELETE ends the session: a later request with its id gets 404", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const { transport } = yield* connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)))
      const sessionId = transport.sessionId
      expect(sessionId).toBeTypeOf("string")
      yield* Effect.promise(() => transport.terminateSession())
      const after = yield* post(`${url}/mcp`, listToolsBody, {
        "mcp-session-id": sessionId ?? "",
        "mcp-protocol-version": LATEST_PROTOCOL_VERSION
      })
      expect(after.status).toBe(404)
      expect(JSON.parse(after.text)).toMatchObject({ jsonrpc: "2.0", error: { code: -32001 }, id: null })
    }))

  it.effect("GET, POST and DELETE with an unknown session id get 404", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const headers = { "mcp-session-id": "no-such-session", accept: "application/json, text/event-stream" }
      const get = yield* Effect.promise(() => fetch(`${url}/mcp`, { headers }))
      expect(get.status).toBe(404)
      expect(yield* Effect.promise(() => get.json())).toMatchObject({ error: { code: -32001 } })
      const del = yield* Effect.promise(() => fetch(`${url}/mcp`, { method: "DELETE", headers }))
      expect(del.status).toBe(404)
      yield* Effect.promise(() => del.arrayBuffer())
      const postResponse = yield* post(`${url}/mcp`, listToolsBody, headers)
      expect(postResponse.status).toBe(404)
    }))

  it.effect("POST without a session that is not initialize gets 400; GET without a session gets 400", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const response = yield* post(`${url}/mcp`, listToolsBody)
      expect(response.status).toBe(400)
      expect(JSON.parse(response.text)).toMatchObject({ jsonrpc: "2.0", error: { code: -32000 } })
      const get = yield* Effect.promise(() => fetch(`${url}/mcp`, { headers: { accept: "text/event-stream" } }))
      expect(get.status).toBe(400)
      yield* Effect.promise(() => get.arrayBuffer())
      const invalid = yield* post(`${url}/mcp`, "{not json")
      expect(invalid.status).toBe(400)
      expect(JSON.parse(invalid.text)).toMatchObject({ error: { code: -32700 } })
    }))

  it.effect("a 2 MB body gets 413, with or without a session, declared or chunked", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const noSession = yield* post(`${url}/mcp`, twoMegabytes)
      expect(noSession.status).toBe(413)
      expect(JSON.parse(noSession.text)).toMatchObject({ jsonrpc: "2.0", error: { code: -32000 } })

      const { sessionId } = yield* rawInitialize(url)
      const withSession = yield* post(`${url}/mcp`, twoMegabytes, { "mcp-session-id": sessionId ?? "" })
      expect(withSession.status).toBe(413)

      // no Content-Length: the cap applies while streaming
      const chunked = yield* Effect.promise(async () => {
        const bytes = new TextEncoder().encode(twoMegabytes)
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            for (let i = 0; i < bytes.length; i += 64 * 1024) controller.enqueue(bytes.subarray(i, i + 64 * 1024))
            controller.close()
          }
        })
        const response = await fetch(`${url}/mcp`, {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
          body,
          duplex: "half"
        } as RequestInit)
        await response.arrayBuffer()
        return response.status
      })
      expect(chunked).toBe(413)

      // the session still works afterwards
      const list = yield* post(`${url}/mcp`, listToolsBody, {
        "mcp-session-id": sessionId ?? "",
        "mcp-protocol-version": LATEST_PROTOCOL_VERSION
      })
      expect(list.status).toBe(200)
      expect(list.text).toContain("\"echo\"")
    }))

  it.scoped("a 2 MB tool call from the SDK client is rejected", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const { client } = yield* connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)))
      const error = yield* Effect.flip(
        Effect.tryPromise(() => client.callTool({ name: "echo", arguments: { message: "x".repeat(2 * 1024 * 1024) } }))
      )
      expect(String(error.cause)).toContain("Payload Too Large")
    }))
})

layer(serverLayer({}), { excludeTestServices: true })("deprecated HTTP+SSE /sse + /messages", (it) => {
  it.scoped("lists tools and calls echo with the bearer of the POST /messages", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const { client } = yield* connect(
        new SSEClientTransport(new URL(`${url}/sse`), {
          requestInit: { headers: { Authorization: `Bearer ${testToken}` } }
        })
      )
      const { tools } = yield* Effect.promise(() => client.listTools())
      expect(tools.map((t) => t.name)).toEqual(["echo"])
      const report = yield* callEcho(client, { via: "sse" })
      expect(report).toMatchObject({ args: { via: "sse" }, bearerPresent: true, bearerMatchesTestToken: true })
      expect(isLoopback(report.clientIp)).toBe(true)
    }))

  it.scoped("without Authorization there is no bearer", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const { client } = yield* connect(new SSEClientTransport(new URL(`${url}/sse`)))
      expect((yield* callEcho(client, {})).bearerPresent).toBe(false)
    }))

  it.effect("POST /messages with an unknown or missing sessionId gets 404", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      expect((yield* post(`${url}/messages?sessionId=nope`, listToolsBody)).status).toBe(404)
      expect((yield* post(`${url}/messages`, listToolsBody)).status).toBe(404)
    }))

  it.scoped("a 2 MB POST /messages gets 413", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      // open an SSE session by hand to learn its endpoint
      const controller = new AbortController()
      yield* Effect.addFinalizer(() => Effect.sync(() => controller.abort()))
      const endpoint = yield* Effect.promise(async () => {
        const response = await fetch(`${url}/sse`, { headers: { accept: "text/event-stream" }, signal: controller.signal })
        if (response.body === null) throw new Error("no SSE body")
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
        let buffer = ""
        while (!buffer.includes("\n\n")) {
          const { value, done } = await reader.read()
          if (done) break
          buffer += value
        }
        const match = /data: (\S+)/.exec(buffer)
        return match?.[1] ?? ""
      })
      expect(endpoint).toMatch(/^\/messages\?sessionId=/)
      expect((yield* post(`${url}${endpoint}`, twoMegabytes)).status).toBe(413)
    }))
})

layer(serverLayer({ maxSessions: 2, sessionIdleTimeout: "300 millis" }), { excludeTestServices: true })(
  "session limits",
  (it) => {
    it.effect("caps live authenticated sessions (503) and expires idle ones", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const bearer = { authorization: `Bearer ${testToken}` }
        const first = yield* rawInitialize(url, bearer)
        const second = yield* rawInitialize(url, bearer)
        expect([first.status, second.status]).toEqual([200, 200])
        const third = yield* rawInitialize(url, bearer)
        expect(third.status).toBe(503)
        yield* Effect.sleep("800 millis")
        const expired = yield* post(`${url}/mcp`, listToolsBody, {
          "mcp-session-id": first.sessionId ?? "",
          "mcp-protocol-version": LATEST_PROTOCOL_VERSION
        })
        expect(expired.status).toBe(404)
        const again = yield* rawInitialize(url, bearer)
        expect(again.status).toBe(200)
      }))

    it.scoped("a session with a connected client does not expire", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const { client } = yield* connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)))
        yield* Effect.sleep("800 millis")
        expect((yield* callEcho(client, { still: "here" })).args).toEqual({ still: "here" })
      }))
  }
)

describe("shutdown", () => {
  it.live("closing the layer closes open sessions, so shutdown does not wait for connected clients", () =>
    Effect.gen(function*() {
      const serverScope = yield* Scope.make()
      const clientScope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(serverLayer({}), serverScope)
      const url = yield* Effect.provide(baseUrl, context)
      // both clients keep a long-lived GET stream open on the server
      const streamable = yield* Scope.extend(
        connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`))),
        clientScope
      )
      const sse = yield* Scope.extend(connect(new SSEClientTransport(new URL(`${url}/sse`))), clientScope)
      yield* Effect.promise(() => Promise.all([streamable.client.listTools(), sse.client.listTools()]))
      // node's server.close() waits for open connections: without the layer's
      // finalizer closing every session (and its stream) this would hang
      const closed = yield* Scope.close(serverScope, Exit.void).pipe(
        Effect.disconnect,
        Effect.timeout("5 seconds"),
        Effect.either
      )
      expect(closed._tag).toBe("Right")
      yield* Scope.close(clientScope, Exit.void)
    }))
})

describe("stdio", () => {
  it.scoped("serves tools over stdin/stdout with the SDK client", () =>
    Effect.gen(function*() {
      const transport = new StdioClientTransport({
        command: process.execPath,
        args: ["--import", "tsx", stdioFixture],
        cwd: projectRoot,
        stderr: "pipe"
      })
      const errors: Array<unknown> = []
      transport.onerror = (error) => errors.push(error)
      const { client } = yield* connect(transport)
      const { tools } = yield* Effect.promise(() => client.listTools())
      expect(tools.map((t) => t.name)).toEqual(["echo"])
      const report = yield* callEcho(client, { message: "stdio" })
      expect(report).toEqual({
        args: { message: "stdio" },
        bearerPresent: false,
        bearerMatchesTestToken: false,
        clientIp: "stdio"
      })
      expect(errors).toEqual([])
    }), { timeout: 30_000 })

  it.live("writes nothing but JSON-RPC to stdout, logs to stderr, exits when stdin ends", () =>
    Effect.promise(() =>
      new Promise<{ stdout: string; stderr: string; code: number | null }>((resolve, reject) => {
        const child = spawn(process.execPath, ["--import", "tsx", stdioFixture], { cwd: projectRoot })
        let stdout = ""
        let stderr = ""
        child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
          stdout += chunk
          if (stdout.includes("\"id\":2")) child.stdin.end()
        })
        child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
          stderr += chunk
        })
        child.on("error", reject)
        child.on("exit", (code) => resolve({ stdout, stderr, code }))
        child.stdin.write(`${initializeBody}\n`)
        child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" })}\n`)
        child.stdin.write(`${listToolsBody}\n`)
      })
    ).pipe(
      Effect.map(({ code, stderr, stdout }) => {
        const lines = stdout.split("\n").filter((line) => line.length > 0)
        expect(lines).toHaveLength(2)
        for (const line of lines) expect(JSON.parse(line)).toMatchObject({ jsonrpc: "2.0" })
        expect(stderr).toContain("stdio fixture ready")
        expect(stderr).toContain("stdio client disconnected")
        expect(code).toBe(0)
      })
    ), { timeout: 30_000 })
})
