/**
 * Calls through the tools and the sandbox carrier, over real HTTP and real
 * WebSockets: an agent-to-agent call bridged by the carrier (both call logs,
 * costs and minutes right), every guardrail refusing comms_make_call with its
 * own code before anything is dialled, and a transfer's provider instruction.
 */
import { describe, expect, layer } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import type { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { readTwiml } from "../../src/providers/sandbox/SandboxTwiml.ts"
import { relay } from "../../src/providers/twilio/ConversationRelay.ts"
import { ADMIN, baseUrl, callTool, errorCode, MASTER, mcpClient, provisionArgs, serverLayer } from "../support/server.ts"
import { callSid, connectRelay, inboundCall, SANDBOX_AUTH_TOKEN, setupFrame, signedPost, sleep } from "./support.ts"

const str = (v: unknown): string => {
  if (typeof v !== "string") throw new Error(`expected a string, got ${JSON.stringify(v)}`)
  return v
}

const provision = (master: Client, agentId: string, name: string) =>
  Effect.map(
    callTool(master, "comms_provision_channels", provisionArgs(agentId, {
      systemPrompt: `You are ${name}, an assistant that confirms deliveries.`,
      greeting: `Hi, ${name} speaking.`
    })),
    (out) => ({ token: str(out.json["securityToken"]), number: str((out.json["channels"] as { phone: { number: string } }).phone.number) })
  )

/** Waits until `check` holds (polling the database), or fails after `ms`. */
const eventually = <A>(effect: Effect.Effect<A, unknown, SqlClient.SqlClient>, check: (a: A) => boolean, ms = 20_000) =>
  Effect.gen(function*() {
    const deadline = Date.now() + ms
    while (true) {
      const value = yield* effect
      if (check(value)) return value
      if (Date.now() > deadline) return yield* Effect.dieMessage(`condition not reached: ${JSON.stringify(value)}`)
      yield* Effect.promise(() => sleep(100))
    }
  })

describe("calls over the sandbox carrier", () => {
  layer(serverLayer({ SANDBOX_AUTH_TOKEN, INITIAL_AGENT_POOL_SIZE: "12", SANDBOX_LLM_TOKEN_DELAY_MS: "0", SANDBOX_CALL_TURNS: "5" }), {
    timeout: 120_000,
    excludeTestServices: true
  })((it) => {
    it.scoped("agent-to-agent: the carrier bridges both relay sessions, 5 turns each way; both call logs, costs and minutes", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const sql = yield* SqlClient.SqlClient
        const master = yield* mcpClient(url, MASTER)
        const a = yield* provision(master, "caller-a", "Ada")
        const b = yield* provision(master, "callee-b", "Bo")
        const agentA = yield* mcpClient(url, a.token)
        const out = yield* callTool(agentA, "comms_make_call", {
          agentId: "caller-a",
          to: "callee-b",
          context: "the parcel for Friday"
        })
        expect(out.isError).toBe(false)
        expect(out.json).toMatchObject({ status: "initiated", from: a.number, to: b.number, toAgentId: "callee-b", maxDurationMinutes: 10 })
        const sidA = str(out.json["callSid"])

        const logs = yield* eventually(
          sql`SELECT agent_id, direction, status, minutes, cost, peer_agent_id, from_number, to_number
              FROM call_logs WHERE agent_id IN ('caller-a', 'callee-b') ORDER BY agent_id`,
          (rows) => rows.length === 2 && rows.every((r) => r["status"] === "completed" && r["minutes"] !== null)
        )
        expect(logs.map((r) => ({ ...r, cost: Number(r["cost"]) }))).toEqual([
          { agentId: "callee-b", direction: "inbound", status: "completed", minutes: 1, cost: 0.1, peerAgentId: "caller-a", fromNumber: a.number, toNumber: b.number },
          { agentId: "caller-a", direction: "outbound", status: "completed", minutes: 1, cost: 0.1, peerAgentId: "callee-b", fromNumber: a.number, toNumber: b.number }
        ])
        expect((yield* sql`SELECT call_sid FROM call_logs WHERE agent_id = 'caller-a'`)[0]?.["callSid"]).toBe(sidA)

        // each side's usage: its minutes at the US price, with the turns each way (counts only)
        const usage = yield* eventually(
          sql`SELECT agent_id, action_type, channel, cost, metadata FROM usage_logs
              WHERE agent_id IN ('caller-a', 'callee-b') ORDER BY agent_id`,
          (rows) => rows.length === 2
        )
        const meta = (r: Record<string, unknown>) => (typeof r["metadata"] === "string" ? JSON.parse(r["metadata"]) : r["metadata"]) as Record<string, number>
        expect(usage.map((r) => [r["agentId"], r["actionType"], r["channel"], Number(r["cost"])])).toEqual([
          ["callee-b", "call_minutes", "voice", 0.1],
          ["caller-a", "make_call", "voice", 0.1]
        ])
        for (const r of usage) {
          expect(meta(r)["minutes"]).toBe(1)
          expect(meta(r)["callerTurns"]).toBeGreaterThanOrEqual(5)
          expect(meta(r)["agentTurns"]).toBeGreaterThanOrEqual(5)
        }
        // counted against both agents' limits: the dashboard shows the spend and a call for each
        const dash = yield* callTool(master, "comms_get_usage_dashboard", {})
        const rows = dash.json["agents"] as ReadonlyArray<Record<string, unknown>>
        for (const id of ["caller-a", "callee-b"]) {
          const row = rows.find((r) => r["agentId"] === id)
          expect(JSON.stringify(row)).toContain("0.1")
        }
        // and the channel status shows the minutes of each
        const statusA = yield* callTool(agentA, "comms_get_channel_status", { agentId: "caller-a" })
        expect((statusA.json["channels"] as { voiceAi: { totalCallMinutes: number } }).voiceAi.totalCallMinutes).toBeGreaterThan(0)
      }))

    it.scoped("comms_make_call is refused by each guardrail with its own code, and nothing is dialled", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const sql = yield* SqlClient.SqlClient
        const master = yield* mcpClient(url, MASTER)
        const dialer = yield* provision(master, "dialer-v", "Dee")
        const agent = yield* mcpClient(url, dialer.token)
        const call = (to: string, extra: Record<string, unknown> = {}) =>
          callTool(agent, "comms_make_call", { agentId: "dialer-v", to, context: "a survey", maxDurationMinutes: 1, ...extra })
        const dialled = (to: string) => Effect.map(sql`SELECT count(*)::int AS n FROM call_logs WHERE to_number = ${to}`, (r) => r[0]?.["n"])

        // DNC
        const res = yield* Effect.promise(() =>
          fetch(`${url}/admin/dnc/import`, {
            method: "POST",
            headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
            body: JSON.stringify({ source: "voice-test", text: "+13125550177\n" })
          }).then((r) => r.status))
        expect(res).toBe(200)
        expect(errorCode(yield* call("+13125550177"))).toBe("dnc_listed")
        expect(yield* dialled("+13125550177")).toBe(0)

        // third call to the same number in a day
        const person = "+12025550166"
        for (const _ of [1, 2]) expect((yield* call(person)).isError).toBe(false)
        const third = yield* call(person)
        expect(errorCode(third)).toBe("contact_limit")
        expect(yield* dialled(person)).toBe(2)

        // spending cap: a 10-minute call reserves $1.00 against a $0.50 day
        yield* callTool(master, "comms_set_agent_limits", { agentId: "dialer-v", limits: { maxSpendPerDay: 0.5 } })
        const spend = yield* call("+12025550155", { maxDurationMinutes: 10 })
        expect(errorCode(spend)).toBe("spend_cap_reached")
        expect(yield* dialled("+12025550155")).toBe(0)

        // rate: one action a minute (two calls went out this minute already)
        yield* callTool(master, "comms_set_agent_limits", { agentId: "dialer-v", limits: { maxSpendPerDay: 100, maxActionsPerMinute: 1 } })
        const rate = yield* call("+12025550144")
        expect(errorCode(rate)).toBe("rate_limited")
        expect(yield* dialled("+12025550144")).toBe(0)

        // the two calls that went out reached the simulated person and were logged
        const done = yield* eventually(
          sql`SELECT status FROM call_logs WHERE to_number = ${person}`,
          (rows) => rows.every((r) => r["status"] === "completed")
        )
        expect(done).toHaveLength(2)
      }))

    it.scoped("transfer: the relay session ends with the handoff and the connect action answers with <Dial>", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const master = yield* mcpClient(url, MASTER)
        const desk = yield* provision(master, "desk-t", "Tess")
        const agent = yield* mcpClient(url, desk.token)
        const sid = callSid()
        const answer = yield* inboundCall(url, "desk-t", { CallSid: sid, From: "+12025550133", To: desk.number })
        if (answer.verb._tag !== "Relay") throw new Error("expected a relay")
        const verb = answer.verb
        const client = yield* Effect.promise(() => connectRelay(verb.url))
        client.send(setupFrame(sid, "+12025550133", desk.number))
        client.send(relay.prompt("I need a human"))
        yield* Effect.promise(() => client.utterance(0))

        // unknown call, bad number
        expect(errorCode(yield* callTool(agent, "comms_transfer_call", { agentId: "desk-t", callSid: callSid(), transferTo: "+12025550122" })))
          .toBe("not_found")
        expect(errorCode(yield* callTool(agent, "comms_transfer_call", { agentId: "desk-t", callSid: sid, transferTo: "front desk" })))
          .toBe("invalid_input")

        const out = yield* callTool(agent, "comms_transfer_call", {
          agentId: "desk-t",
          callSid: sid,
          transferTo: "+12025550122",
          announcement: "Connecting you to our front desk."
        })
        expect(out.json).toEqual({ callSid: sid, status: "transferring", transferTo: "+12025550122" })
        yield* Effect.promise(() => client.closed)
        const end = client.messages.find((m) => m.type === "end")
        expect(typeof end?.handoffData).toBe("string")
        expect(JSON.parse(end?.handoffData ?? "")).toEqual({ reason: "transfer", to: "+12025550122" })

        // Twilio then asks the <Connect action> URL what to do next
        expect(verb.action).toBeDefined()
        const next = yield* signedPost(verb.action ?? "", {
          CallSid: sid,
          AccountSid: "AC" + "0".repeat(32),
          From: "+12025550133",
          To: desk.number,
          CallStatus: "in-progress",
          SessionStatus: "ended",
          HandoffData: end?.handoffData ?? ""
        })
        expect(next.status).toBe(200)
        expect(next.text).toContain("<Say>Connecting you to our front desk.</Say>")
        expect(next.text).toContain(`<Dial callerId="${desk.number}">+12025550122</Dial>`)
        expect(readTwiml(next.text)).toEqual({ _tag: "Dial", to: "+12025550122", announcement: "Connecting you to our front desk." })
        const sql = yield* SqlClient.SqlClient
        const row = yield* sql`SELECT transferred_to FROM call_logs WHERE call_sid = ${sid}`
        expect(row[0]?.["transferredTo"]).toBe("+12025550122")
      }))
  })
})
