/**
 * Auto-suspend over real HTTP: a burst of sends to new numbers (fed to the
 * detector as the send path does) suspends the agent; its next call gets
 * agent_suspended; the admin alert lands in the sandbox outbox once; the
 * admin's unsuspend restores it.
 */
import { expect, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { describe, it } from "vitest"
import { AgentId } from "../../schema/Ids.ts"
import { emptyBaseline, observe, scoreOf } from "../../src/security/AnomalyDetector.ts"
import { AnomalyDetector } from "../../src/security/AnomalyDetector.ts"
import { ADMIN, baseUrl, callTool, errorCode, MASTER, mcpClient, provisionArgs, serverLayer } from "../support/server.ts"

const ADMIN_NUMBER = "+15559990001"

describe("anomaly score", () => {
  it("grows with new recipients and volume, not with repeats to known ones", () => {
    const b = emptyBaseline(0)
    // a steady agent: 20 sends an hour to one contact, for three hours (its baseline), then the same again
    for (let i = 0; i < 60; i++) observe(b, { _tag: "send", recipient: "+15550001111" }, i * 180_000, 20)
    const steady = scoreOf(observe(b, { _tag: "send", recipient: "+15550001111" }, 60 * 180_000, 20))
    expect(steady).toBeLessThan(1)
    const c = emptyBaseline(0)
    let burst = 0
    for (let i = 0; i < 25; i++) burst = scoreOf(observe(c, { _tag: "send", recipient: `+1555000${2000 + i}` }, i * 1000, 20))
    expect(burst).toBeGreaterThanOrEqual(1)
  })
})

layer(serverLayer({ ADMIN_WHATSAPP_NUMBER: ADMIN_NUMBER }), { excludeTestServices: true, timeout: 120_000 })(
  "auto-suspend",
  (it) => {
    it.scoped("a burst to new numbers suspends the agent until the admin unsuspends it; one alert", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const master = yield* mcpClient(url, MASTER)
        const provisioned = yield* callTool(master, "comms_provision_channels", provisionArgs("burst"))
        const token = String(provisioned.json["securityToken"])
        const agent = yield* mcpClient(url, token)
        const status = yield* callTool(agent, "comms_get_channel_status", { agentId: "burst" })
        expect(status.isError).toBe(false)

        const detector = yield* AnomalyDetector
        for (let i = 0; i < 40; i++) {
          yield* detector.record(AgentId.make("burst"), { _tag: "send", recipient: `+1555123${String(i).padStart(4, "0")}` })
        }
        expect(detector.isSuspended(AgentId.make("burst"))).toBe(true)

        const refused = yield* callTool(agent, "comms_get_channel_status", { agentId: "burst" })
        expect(errorCode(refused)).toBe("agent_suspended")
        // nothing is sent for it, not even by the master
        const send = yield* callTool(master, "comms_send_message", { agentId: "burst", to: "+15551230000", channel: "sms", body: "x" })
        expect(errorCode(send)).toBe("agent_suspended")

        const outbox = () =>
          Effect.promise(async () => {
            const r = await fetch(`${url}/admin/sandbox/outbox?limit=500`, { headers: { authorization: `Bearer ${ADMIN}` } })
            const body = (await r.json()) as { messages: Array<{ to: string; body: string | null }> }
            return body.messages.filter((m) => m.to === ADMIN_NUMBER && (m.body ?? "").includes("burst auto-suspended"))
          })
        let alerts = yield* outbox()
        for (let i = 0; i < 40 && alerts.length === 0; i++) {
          yield* Effect.sleep("50 millis")
          alerts = yield* outbox()
        }
        yield* Effect.sleep("200 millis")
        expect((yield* outbox()).length).toBe(1)
        const history = yield* Effect.promise(() =>
          fetch(`${url}/admin/alerts`, { headers: { authorization: `Bearer ${ADMIN}` } })
            .then((r) => r.json() as Promise<{ alerts: Array<{ key: string; severity: string; state: string }> }>)
        )
        expect(history.alerts.find((a) => a.key === "anomaly-suspend:burst")).toMatchObject({ severity: "critical", state: "open" })

        const lifted = yield* Effect.promise(() =>
          fetch(`${url}/admin/agents/burst/unsuspend`, { method: "POST", headers: { authorization: `Bearer ${ADMIN}` } })
            .then((r) => r.json())
        )
        expect(lifted).toEqual({ agentId: "burst", wasSuspended: true })
        const again = yield* callTool(agent, "comms_get_channel_status", { agentId: "burst" })
        expect(again.isError).toBe(false)
      }))
  }
)
