/**
 * The floor of `npm run bench`: a bare `node:http` server hosting the MCP SDK's
 * `StreamableHTTPServerTransport` (stateful sessions) with one no-op tool on
 * the low-level `Server` — no Effect. Run as a child process by the bench:
 * listens on 127.0.0.1:$PORT (0 = any) and prints `LISTENING <port>` to stdout.
 */
import { randomUUID } from "node:crypto"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { Server } from "@modelcontextprotocol/sdk/server/index.js"
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js"
import {
  CallToolRequestSchema,
  type CallToolResult,
  isInitializeRequest,
  ListToolsRequestSchema
} from "@modelcontextprotocol/sdk/types.js"

const makeServer = (): Server => {
  const server = new Server({ name: "bench-floor", version: "0.0.0" }, { capabilities: { tools: {} } })
  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: [{ name: "noop", description: "does nothing", inputSchema: { type: "object", properties: {} } }]
  }))
  server.setRequestHandler(CallToolRequestSchema, (request): CallToolResult => {
    if (request.params.name !== "noop") {
      return { content: [{ type: "text", text: "unknown tool" }], isError: true }
    }
    const out = { ok: true }
    return { content: [{ type: "text", text: JSON.stringify(out) }], structuredContent: out }
  })
  return server
}

const transports = new Map<string, StreamableHTTPServerTransport>()

const readJson = (req: http.IncomingMessage): Promise<unknown> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")))
      } catch (e) {
        reject(e)
      }
    })
    req.on("error", reject)
  })

const reply = (res: http.ServerResponse, status: number, message: string): void => {
  res.writeHead(status, { "content-type": "application/json" })
  res.end(JSON.stringify({ jsonrpc: "2.0", error: { code: -32000, message }, id: null }))
}

const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
  if (req.url === "/health") {
    res.writeHead(200, { "content-type": "application/json" })
    res.end("{\"status\":\"ok\"}")
    return
  }
  if (req.url !== "/mcp") return reply(res, 404, "not found")
  const header = req.headers["mcp-session-id"]
  const sessionId = typeof header === "string" ? header : undefined
  const existing = sessionId === undefined ? undefined : transports.get(sessionId)
  if (existing !== undefined) {
    if (req.method === "POST") return existing.handleRequest(req, res, await readJson(req))
    return existing.handleRequest(req, res)
  }
  if (sessionId !== undefined) return reply(res, 404, "Session not found")
  if (req.method !== "POST") return reply(res, 400, "Bad Request: no session")
  const body = await readJson(req)
  if (!isInitializeRequest(body)) return reply(res, 400, "Bad Request: not an initialize request")
  const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    onsessioninitialized: (id) => {
      transports.set(id, transport)
    }
  })
  transport.onclose = () => {
    if (transport.sessionId !== undefined) transports.delete(transport.sessionId)
  }
  await makeServer().connect(transport)
  await transport.handleRequest(req, res, body)
}

const httpServer = http.createServer((req, res) => {
  handle(req, res).catch(() => {
    if (!res.headersSent) reply(res, 500, "Internal error")
    else if (!res.writableEnded) res.end()
  })
})

httpServer.listen(Number(process.env["PORT"] ?? "0"), "127.0.0.1", () => {
  const { port } = httpServer.address() as AddressInfo
  process.stdout.write(`LISTENING ${port}\n`)
})

const shutdown = () => {
  for (const t of transports.values()) void t.close()
  httpServer.close(() => process.exit(0))
  setTimeout(() => process.exit(0), 500).unref()
}
process.on("SIGTERM", shutdown)
process.on("SIGINT", shutdown)
