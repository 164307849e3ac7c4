/**
 * The voice WebSocket spoken exactly as Twilio's ConversationRelay speaks it,
 * through the real server: the inbound call webhook answers with TwiML
 * carrying the wss URL and its single-use token; setup → prompt → streamed
 * tokens → interrupt mid-stream stops them → the next prompt is answered;
 * the duration cap ends the call with `end`; forged, replayed and
 * other-agent handshakes are refused before any setup.
 */
import { describe, expect, layer } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import type { SandboxVerb } from "../../src/providers/sandbox/SandboxTwiml.ts"
import { relay } from "../../src/providers/twilio/ConversationRelay.ts"
import { computeTwilioSignature } from "../../src/providers/twilio/TwilioSignature.ts"
import { baseUrl, callTool, MASTER, mcpClient, provisionArgs, serverLayer } from "../support/server.ts"
import { callSid, connectRelay, inboundCall, SANDBOX_AUTH_TOKEN, setupFrame, sleep } from "./support.ts"

const CALLER = "+12025550199"

const provision = (url: string, agentId: string, extra: Record<string, unknown> = {}) =>
  Effect.gen(function*() {
    const master = yield* mcpClient(url, MASTER)
    const out = yield* callTool(master, "comms_provision_channels", provisionArgs(agentId, {
      systemPrompt: `You are ${agentId === "relay-a" ? "Ada" : "Bo"}, a scheduling assistant.`,
      greeting: "Hello, you reached the scheduling line.",
      ...extra
    }))
    const channels = out.json["channels"] as { phone: { number: string } }
    return channels.phone.number
  })

const relayUrl = (verb: SandboxVerb) => {
  if (verb._tag !== "Relay") throw new Error(`expected <ConversationRelay>, got ${verb._tag}`)
  return verb.url
}

describe("ConversationRelay over the voice WebSocket", () => {
  layer(
    serverLayer({
      SANDBOX_AUTH_TOKEN,
      INITIAL_AGENT_POOL_SIZE: "10",
      SANDBOX_LLM_TOKEN_DELAY_MS: "40",
      INBOUND_CALL_MAX_MINUTES: "0.08"
    }),
    { timeout: 90_000, excludeTestServices: true }
  )((it) => {
    it.scoped("setup → prompt → streamed tokens; interrupt stops them at once; the next prompt is answered; the cap ends with end", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const sql = yield* SqlClient.SqlClient
        const number = yield* provision(url, "relay-a")
        const sid = callSid()
        const answer = yield* inboundCall(url, "relay-a", { CallSid: sid, From: CALLER, To: number })
        expect(answer.status).toBe(200)
        expect(answer.text).toContain("<Connect")
        expect(answer.text).toContain("<ConversationRelay")
        expect(answer.text).toContain("interruptible=\"any\"")
        expect(answer.text).toContain("Hello, you reached the scheduling line.")
        const wsUrl = relayUrl(answer.verb)
        expect(wsUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/webhooks\/relay-a\/voice-ws\?token=/)

        const started = performance.now()
        const client = yield* Effect.promise(() =>
          connectRelay(wsUrl, { "x-twilio-signature": computeTwilioSignature(SANDBOX_AUTH_TOKEN, wsUrl, {}) }))
        client.send(setupFrame(sid, CALLER, number))
        client.send(relay.prompt("I would like to book a table", false))
        client.send(relay.prompt(" for two tonight"))
        const first = yield* Effect.promise(() => client.utterance(0))
        expect(first).toBe("This is Ada. You said: I would like to book a table for two tonight. How can I help?")
        // streamed token by token, not in one message
        expect(client.messages.filter((m) => m.type === "text" && m.last === false).length).toBeGreaterThan(10)
        const activeCalls = Effect.promise(() =>
          fetch(`${url}/metrics`).then((r) => r.text()).then((t) =>
            t.split("\n").find((l) => l.startsWith("comms_active_calls") && l.includes("\"relay-a\""))?.split(" ").pop()))
        expect(yield* activeCalls).toBe("1")

        // second prompt: interrupt after 3 tokens
        const before = client.messages.length
        client.send(relay.prompt("Actually make it four"))
        yield* Effect.promise(async () => {
          while (client.messages.length - before < 3) await sleep(5)
        })
        client.send(relay.interrupt("Turn 2 from", 700))
        const interruptedAt = performance.now()
        yield* Effect.promise(() => sleep(600))
        // a token already on the wire may land just after the interrupt, never once the server has handled it
        const late = client.messages.slice(before).filter((m) => m.type === "text" && m.at > interruptedAt + 100)
        expect(late).toEqual([])
        expect(client.messages.slice(before).some((m) => m.type === "text" && m.last === true)).toBe(false)

        // the next prompt starts clean and is answered in full
        const third = client.messages.length
        client.send(relay.prompt("Are you still there?"))
        const reply = yield* Effect.promise(() => client.utterance(third))
        expect(reply).toBe("Turn 3 from Ada. I heard: Are you still there?. Anything else?")

        // the duration cap (0.08 min) ends the call with `end`, then the socket closes
        const code = yield* Effect.promise(() => client.closed)
        const end = client.messages.find((m) => m.type === "end")
        expect(end).toBeDefined()
        expect(JSON.parse(end?.handoffData ?? "{}")).toEqual({ reason: "max_duration" })
        expect(performance.now() - started).toBeGreaterThan(4_000)
        expect(code).toBe(1000)

        // the call log: inbound, completed, 1 minute, cost of a US minute
        yield* Effect.promise(() => sleep(200))
        expect(yield* activeCalls).toBe("0")
        const rows = yield* sql`SELECT direction, status, minutes, cost FROM call_logs WHERE call_sid = ${sid}`
        expect(rows).toEqual([{ direction: "inbound", status: "completed", minutes: 1, cost: expect.anything() }])
        expect(Number(rows[0]?.["cost"])).toBeCloseTo(0.1, 6)
        const usage = yield* sql`SELECT action_type, channel FROM usage_logs WHERE agent_id = 'relay-a'`
        expect(usage).toEqual([{ actionType: "call_minutes", channel: "voice" }])
      }))

    it.scoped("forged, replayed and other-agent handshakes are refused before setup", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const numberA = yield* provision(url, "relay-b1")
        yield* provision(url, "relay-b2")
        const sid = callSid()
        const answer = yield* inboundCall(url, "relay-b1", { CallSid: sid, From: CALLER, To: numberA })
        const wsUrl = relayUrl(answer.verb)
        const refused = (target: string, headers: Record<string, string> = {}) =>
          Effect.promise(() => connectRelay(target, headers).then(() => "opened", (e: Error) => e.message))

        // forged: a made-up token, and a signature by someone without the auth token
        expect(yield* refused(wsUrl.replace(/token=[^&]+/, "token=forged-token-000000000000000000"))).toBe("handshake refused: 403")
        expect(yield* refused(wsUrl, { "x-twilio-signature": computeTwilioSignature("not-the-auth-token-0000000", wsUrl, {}) }))
          .toBe("handshake refused: 403")
        // another agent's path with this call's token
        expect(yield* refused(wsUrl.replace("/relay-b1/", "/relay-b2/"))).toBe("handshake refused: 403")
        // the real one works once…
        const client = yield* Effect.promise(() => connectRelay(wsUrl))
        client.send(setupFrame(sid, CALLER, numberA))
        client.send(relay.prompt("hello"))
        expect(yield* Effect.promise(() => client.utterance(0))).toContain("You said: hello.")
        // …and is refused when replayed
        expect(yield* refused(wsUrl)).toBe("handshake refused: 403")
        client.ws.close()
        // a webhook with a bad signature gets no TwiML at all
        const bad = yield* Effect.promise(() =>
          fetch(`${url}/webhooks/relay-b1/voice`, {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": "AAAA" },
            body: new URLSearchParams({ CallSid: callSid(), From: CALLER, To: numberA }).toString()
          }).then((r) => r.status))
        expect(bad).toBe(403)
      }))
  })
})
