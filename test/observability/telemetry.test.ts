/**
 * Metrics and traces after a scripted exchange over real HTTP: /metrics shows
 * every metric the spec names (behind METRICS_TOKEN), and a tool call's trace
 * reaches a local OTLP receiver with spans from the tool through the actor,
 * the guard and the send path down to the database.
 */
import { afterAll, beforeAll, expect, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { tracingLayer } from "../../src/observability/Tracing.ts"
import { baseUrl, callTool, MASTER, mcpClient, provisionArgs, serverLayer } from "../support/server.ts"

interface ReceivedSpan {
  readonly name: string
  readonly traceId: string
}
const received: Array<ReceivedSpan> = []
let receiver: Server
let receiverPort = 0

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = ""
    req.setEncoding("utf8")
    req.on("data", (c: string) => {
      body += c
    })
    req.on("end", () => {
      if (req.url === "/v1/traces") {
        const parsed = JSON.parse(body) as {
          resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<{ name: string; traceId: string }> }> }>
        }
        for (const rs of parsed.resourceSpans) {
          for (const ss of rs.scopeSpans) for (const s of ss.spans) received.push({ name: s.name, traceId: s.traceId })
        }
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}")
    })
  })
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", () => resolve()))
  receiverPort = (receiver.address() as AddressInfo).port
})
afterAll(() => new Promise<void>((resolve) => receiver.close(() => resolve())))

const METRICS_TOKEN = "metrics-token-0123456789"

const app = Layer.unwrapEffect(Effect.sync(() =>
  serverLayer({ METRICS_TOKEN }).pipe(
    Layer.provide(tracingLayer({ endpoint: `http://127.0.0.1:${receiverPort}`, exportInterval: "200 millis" }))
  )
))

const specMetrics = [
  "comms_actions_total",
  "comms_action_cost_total",
  "comms_action_duration_seconds",
  "comms_rate_limit_hits_total",
  "comms_webhook_requests_total",
  "comms_active_calls",
  "comms_agent_pool_used",
  "comms_agent_pool_total",
  "comms_security_events_total"
]

layer(app, { excludeTestServices: true, timeout: 120_000 })("metrics and traces", (it) => {
  it.scoped("a scripted exchange: every spec metric on /metrics, and spans from the tool call through actor, guard and database at the receiver", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const client = yield* mcpClient(url, MASTER)
      yield* callTool(client, "comms_provision_channels", provisionArgs("tele-a"))
      yield* callTool(client, "comms_provision_channels", provisionArgs("tele-b"))
      // sends: counted, costed, timed; the 11th in a minute hits the rate window
      for (let i = 0; i < 11; i++) {
        const out = yield* callTool(client, "comms_send_message", { agentId: "tele-a", to: "tele-b", channel: "sms", body: `hello ${i}` })
        expect(out.isError, JSON.stringify(out.json)).toBe(false)
      }
      // a wrong token: a security event
      yield* callTool(client, "comms_get_channel_status", { agentId: "tele-a", securityToken: "aoc_wrong" })
      // a webhook request
      yield* Effect.promise(() => fetch(`${url}/webhooks/tele-a/sms`, { method: "POST", body: "" }))

      const denied = yield* Effect.promise(() => fetch(`${url}/metrics`))
      expect(denied.status).toBe(401)
      const text = yield* Effect.promise(() =>
        fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } }).then((r) => r.text())
      )
      for (const name of specMetrics) expect(text, name).toMatch(new RegExp(`^${name}(_bucket|_count|_sum)?[{ ]`, "m"))
      expect(text).toMatch(/comms_actions_total\{[^}]*agent="tele-a"[^}]*channel="sms"/)
      expect(text).toMatch(/comms_security_events_total\{type="auth_failure"[^}]*\} [1-9]/)
      expect(text).toMatch(/comms_agent_pool_used(\{[^}]*\})? 2\b/)

      yield* Effect.sleep("1500 millis")
      const toolSpans = received.filter((s) => s.name === "tool.comms_send_message")
      expect(toolSpans.length).toBeGreaterThan(0)
      const traceId = toolSpans[0]!.traceId
      const inTrace = new Set(received.filter((s) => s.traceId === traceId).map((s) => s.name))
      for (const name of ["mcp.tools.call", "tool.comms_send_message", "AgentRuntime.send"]) {
        expect(inTrace.has(name), `${name} in ${[...inTrace].join(", ")}`).toBe(true)
      }
      // the actor's side (guard, send path, database) is exported too; it joins the tool's trace once the
      // actor runs each command under the caller's span (see the report: AgentActor is not ours)
      const all = new Set(received.map((s) => s.name))
      for (const name of ["AgentGuard.admit", "Outbound.send", "sql.execute"]) expect(all.has(name), name).toBe(true)
    }))
})
