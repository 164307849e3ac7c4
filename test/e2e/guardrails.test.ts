/**
 * Guardrails through the real server: limits enforced by the agent actor
 * before any provider, STOP/START, one-click email unsubscribe, privileges,
 * metrics, and limits that survive restarts.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { computeTwilioSignature } from "../../src/providers/twilio/TwilioSignature.ts"
import { ADMIN, baseUrl, callTool, errorCode, MASTER, mcpClient, provisionArgs, serverLayer } from "../support/server.ts"

const SANDBOX_AUTH_TOKEN = "sandbox-auth-token-guardrails-0001"
const HUMAN = "+12025550187"

const str = (v: unknown): string => {
  if (typeof v !== "string") throw new Error(`expected a string, got ${JSON.stringify(v)}`)
  return v
}

const signedSms = (url: string, agentId: string, fields: { From: string; To: string; Body: string; MessageSid: string }) =>
  Effect.promise(async () => {
    const target = `${url}/webhooks/${agentId}/sms`
    const params = { ...fields, AccountSid: "AC" + "0".repeat(32), NumMedia: "0" }
    const res = await fetch(target, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        "x-twilio-signature": computeTwilioSignature(SANDBOX_AUTH_TOKEN, target, params)
      },
      body: new URLSearchParams(params).toString()
    })
    return res.status
  })

const sms = (agentId: string, to: string, body: string) => ({ agentId, to, channel: "sms", body })

describe("guardrails over real HTTP", () => {
  layer(serverLayer({ SANDBOX_AUTH_TOKEN, INITIAL_AGENT_POOL_SIZE: "10" }), { timeout: 90_000, excludeTestServices: true })(
    (it) => {
      it.scoped("64 concurrent sends against a limit of 10: exactly 10 go out, the rest are rate_limited with a retry-after", () =>
        Effect.gen(function*() {
          const url = yield* baseUrl
          const sql = yield* SqlClient.SqlClient
          const master = yield* mcpClient(url, MASTER)
          const a = yield* callTool(master, "comms_provision_channels", provisionArgs("burst"))
          const agent = yield* mcpClient(url, str(a.json["securityToken"]))
          const results = yield* Effect.forEach(
            Array.from({ length: 64 }, (_, i) => i),
            (i) => callTool(agent, "comms_send_message", sms("burst", HUMAN, `hello ${i}`)),
            { concurrency: "unbounded" }
          )
          const statuses = results.map((r) => str(r.json["status"]))
          expect(statuses.filter((s) => s === "queued")).toHaveLength(10)
          const limited = results.filter((r) => r.json["status"] === "rate_limited")
          expect(limited).toHaveLength(54)
          for (const r of limited) {
            expect(r.json["rateLimitRemaining"]).toBe(0)
            expect(Number(r.json["retryAfterSeconds"])).toBeGreaterThan(0)
            expect(Number(r.json["retryAfterSeconds"])).toBeLessThanOrEqual(60)
          }
          const remaining = results.filter((r) => r.json["status"] === "queued").map((r) => Number(r.json["rateLimitRemaining"]))
          expect(remaining.sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
          // nothing refused reached the provider; every sent one is costed in usage_logs
          const usage = yield* sql`SELECT count(*)::int AS n, sum(cost) AS total FROM usage_logs WHERE agent_id = 'burst'`
          expect(usage[0]?.["n"]).toBe(10)
          expect(Number(usage[0]?.["total"])).toBeCloseTo(10 * 0.0079, 6)
          const audits = yield* sql`SELECT count(*)::int AS n FROM audit_log WHERE event_type = 'rate_limit_breached' AND target = 'burst'`
          expect(Number(audits[0]?.["n"])).toBeGreaterThanOrEqual(1)
          const metrics = yield* Effect.promise(() => fetch(`${url}/metrics`).then((r) => r.text()))
          const line = metrics.split("\n").find((l) => l.startsWith("comms_rate_limit_hits_total") && l.includes('"burst"'))
          expect(Number(line?.split(" ").pop())).toBe(54)
          // the dashboard agrees
          const dash = yield* callTool(agent, "comms_get_usage_dashboard", { period: "today" })
          const row = (dash.json["agents"] as ReadonlyArray<Record<string, unknown>>)[0]
          expect(row).toMatchObject({ agentId: "burst", totalActions: 10, rateLimitHits: 54 })
        }))

      it.scoped("an agent token cannot raise its own limits or read other agents; the master can, effective at once", () =>
        Effect.gen(function*() {
          const url = yield* baseUrl
          const master = yield* mcpClient(url, MASTER)
          const a = yield* callTool(master, "comms_provision_channels", provisionArgs("capped"))
          const token = str(a.json["securityToken"])
          const agent = yield* mcpClient(url, token)
          const raise = yield* callTool(agent, "comms_set_agent_limits", {
            agentId: "capped",
            limits: { maxActionsPerMinute: 1000 }
          })
          expect(errorCode(raise)).toBe("forbidden")
          const own = yield* callTool(agent, "comms_get_usage_dashboard", {})
          expect((own.json["agents"] as ReadonlyArray<Record<string, unknown>>).map((r) => r["agentId"])).toEqual(["capped"])
          expect(errorCode(yield* callTool(agent, "comms_get_usage_dashboard", { agentId: "burst" }))).toBe("forbidden")
          const set = yield* callTool(master, "comms_set_agent_limits", { agentId: "capped", limits: { maxActionsPerMinute: 2 } })
          expect(set.isError).toBe(false)
          expect(set.json["limits"]).toMatchObject({ maxActionsPerMinute: 2 })
          const sends = yield* Effect.forEach([1, 2, 3], (i) => callTool(agent, "comms_send_message", sms("capped", HUMAN, `m${i}`)))
          expect(sends.map((r) => r.json["status"])).toEqual(["queued", "queued", "rate_limited"])
          const all = yield* callTool(master, "comms_get_usage_dashboard", { period: "all" })
          expect((all.json["globalTotals"] as Record<string, unknown>)["totalActions"]).toBe(12)
          const status = yield* callTool(agent, "comms_get_channel_status", { agentId: "capped" })
          expect(status.json["rateLimits"]).toMatchObject({ actionsThisMinute: 2, maxPerMinute: 2 })
        }))

      it.scoped("STOP opts the contact out (with the standard reply), sends are refused with opted_out, START re-enables", () =>
        Effect.gen(function*() {
          const url = yield* baseUrl
          const sql = yield* SqlClient.SqlClient
          const master = yield* mcpClient(url, MASTER)
          const a = yield* callTool(master, "comms_provision_channels", provisionArgs("polite"))
          const number = str((a.json["channels"] as Record<string, Record<string, unknown>>)["sms"]?.["number"])
          const agent = yield* mcpClient(url, str(a.json["securityToken"]))
          const person = "+13125550142"
          expect((yield* callTool(agent, "comms_send_message", sms("polite", person, "Your order shipped"))).json["status"])
            .toBe("queued")
          expect(yield* signedSms(url, "polite", { From: person, To: number, Body: " stop ", MessageSid: "SM" + "1".repeat(32) }))
            .toBe(200)
          const refused = yield* callTool(agent, "comms_send_message", sms("polite", person, "One more thing"))
          expect(errorCode(refused)).toBe("opted_out")
          yield* Effect.sleep("300 millis")
          const replies = yield* sql`SELECT body FROM sandbox_outbox WHERE to_address = ${person} ORDER BY created_at`
          expect(replies.map((r) => String(r["body"]))).toEqual([
            "Your order shipped",
            expect.stringMatching(/unsubscribed|opted out|no more messages/i)
          ])
          expect(yield* signedSms(url, "polite", { From: person, To: number, Body: "START", MessageSid: "SM" + "2".repeat(32) }))
            .toBe(200)
          expect((yield* callTool(agent, "comms_send_message", sms("polite", person, "Welcome back"))).json["status"])
            .toBe("queued")
          // another agent of ours is not affected by this contact's STOP to "polite"
        }))

      it.scoped("numbers imported to the DNC list (registry file or CSV) are refused with dnc_listed; our own agents are exempt", () =>
        Effect.gen(function*() {
          const url = yield* baseUrl
          const master = yield* mcpClient(url, MASTER)
          const a = yield* callTool(master, "comms_provision_channels", provisionArgs("dialer"))
          const agent = yield* mcpClient(url, str(a.json["securityToken"]))
          const res = yield* Effect.promise(() =>
            fetch(`${url}/admin/dnc/import`, {
              method: "POST",
              headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
              body: JSON.stringify({ source: "ftc-test", text: "2025550111\n+13125550112\nnot a number\n" })
            }).then(async (r) => [r.status, await r.json()] as const)
          )
          expect(res).toEqual([200, { imported: 2, alreadyListed: 0, invalid: 1, invalidLines: [3] }])
          for (const listed of ["+12025550111", "+13125550112"]) {
            expect(errorCode(yield* callTool(agent, "comms_send_message", sms("dialer", listed, "Offer")))).toBe("dnc_listed")
          }
          expect((yield* callTool(agent, "comms_send_message", sms("dialer", "+12025550113", "Offer"))).json["status"])
            .toBe("queued")
          expect((yield* callTool(agent, "comms_send_message", sms("dialer", "burst", "hi colleague"))).json["status"])
            .toBe("queued")
        }))

      it.scoped("every email carries the physical address and a one-click unsubscribe that opts the recipient out", () =>
        Effect.gen(function*() {
          const url = yield* baseUrl
          const sql = yield* SqlClient.SqlClient
          const master = yield* mcpClient(url, MASTER)
          const a = yield* callTool(master, "comms_provision_channels", provisionArgs("mailer"))
          const agent = yield* mcpClient(url, str(a.json["securityToken"]))
          const reader = "reader@example.com"
          const first = yield* callTool(agent, "comms_send_message", {
            agentId: "mailer",
            to: reader,
            channel: "email",
            subject: "News",
            body: "This week"
          })
          expect(first.json["status"]).toBe("queued")
          yield* Effect.sleep("200 millis")
          const mail = yield* sql`SELECT body FROM sandbox_outbox WHERE to_address = ${reader}`
          const body = String(mail[0]?.["body"])
          const link = /Unsubscribe: (\S+)/.exec(body)?.[1]
          expect(link).toMatch(new RegExp(`^${url}/unsubscribe/[A-Za-z0-9_-]+$`))
          expect(body).not.toContain(reader)
          const page = yield* Effect.promise(() => fetch(str(link)).then((r) => r.status))
          expect(page).toBe(200)
          const token = str(link).split("/").pop() ?? ""
          const mid = Math.floor(token.length / 2)
          const tampered = token.slice(0, mid) + (token[mid] === "A" ? "B" : "A") + token.slice(mid + 1)
          const forged = yield* Effect.promise(() =>
            fetch(`${url}/unsubscribe/${tampered}`, { method: "POST" }).then((r) => r.status)
          )
          expect(forged).toBe(404)
          const post = yield* Effect.promise(() =>
            fetch(str(link), { method: "POST", body: "List-Unsubscribe=One-Click" }).then((r) => r.status)
          )
          expect(post).toBe(200)
          const again = yield* callTool(agent, "comms_send_message", {
            agentId: "mailer",
            to: reader,
            channel: "email",
            subject: "More",
            body: "news"
          })
          expect(errorCode(again)).toBe("opted_out")
        }))
    }
  )
})

describe("limits survive an actor restart and a server restart", () => {
  it.live("the 11th send in the same minute is refused after a restart on the same DATA_DIR", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "agentos-limits-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
      const env = { DATA_DIR: dir, SANDBOX_AUTH_TOKEN }
      const token = yield* Effect.scoped(Effect.gen(function*() {
        const ctx = yield* Layer.build(serverLayer(env))
        const url = yield* Effect.provide(baseUrl, ctx)
        const master = yield* mcpClient(url, MASTER)
        const a = yield* callTool(master, "comms_provision_channels", provisionArgs("steady"))
        const agent = yield* mcpClient(url, str(a.json["securityToken"]))
        const sent = yield* Effect.forEach(Array.from({ length: 10 }, (_, i) => i), (i) =>
          callTool(agent, "comms_send_message", sms("steady", HUMAN, `n${i}`)))
        expect(sent.every((r) => r.json["status"] === "queued")).toBe(true)
        return str(a.json["securityToken"])
      }))
      yield* Effect.scoped(Effect.gen(function*() {
        const ctx = yield* Layer.build(serverLayer(env))
        const url = yield* Effect.provide(baseUrl, ctx)
        const agent = yield* mcpClient(url, token)
        const eleventh = yield* callTool(agent, "comms_send_message", sms("steady", HUMAN, "eleven"))
        expect(eleventh.json).toMatchObject({ status: "rate_limited", rateLimitRemaining: 0 })
      }))
    }).pipe(Effect.scoped), { timeout: 90_000 })
})
