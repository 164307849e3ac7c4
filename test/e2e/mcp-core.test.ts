import { describe, expect, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ADMIN, baseUrl, callTool, errorCode, MASTER, mcpClient, provisionArgs, serverLayer } from "../support/server.ts"

const str = (v: unknown): string => {
  if (typeof v !== "string") throw new Error(`expected a string, got ${JSON.stringify(v)}`)
  return v
}

const admin = (url: string, path: string, init: RequestInit = {}) =>
  Effect.promise(async () => {
    const res = await fetch(`${url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" }
    })
    return { status: res.status, body: await res.json() as Record<string, unknown> }
  })

describe("MCP over real HTTP, sandbox mode", () => {
  layer(serverLayer({ INITIAL_AGENT_POOL_SIZE: "5" }), { timeout: 60_000, excludeTestServices: true })((it) => {
    it.scoped("lists the working tools with plain object schemas", () =>
      Effect.gen(function*() {
        const client = yield* mcpClient(yield* baseUrl)
        const { tools } = yield* Effect.promise(() => client.listTools())
        expect(tools.map((t) => t.name).sort()).toEqual([
          "comms_deprovision_channels",
          "comms_get_channel_status",
          "comms_get_messages",
          "comms_get_usage_dashboard",
          "comms_provision_channels",
          "comms_register_provider",
          "comms_send_message",
          "comms_set_agent_limits"
        ])
        for (const t of tools) {
          expect(t.inputSchema.type).toBe("object")
          expect(t.inputSchema).not.toHaveProperty("$ref")
          expect(t.outputSchema?.type).toBe("object")
        }
      }))

    it.scoped("provision with the master token, status with the agent's own token, impersonation refused", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const client = yield* mcpClient(url)
        const a = yield* callTool(client, "comms_provision_channels", { ...provisionArgs("alpha"), securityToken: MASTER })
        expect(a.isError).toBe(false)
        expect(a.structured).toEqual(a.json)
        const channels = a.json["channels"] as Record<string, Record<string, unknown>>
        expect(str(channels["phone"]?.["number"])).toMatch(/^\+1\d{3}55501\d{2}$/)
        expect(channels["sms"]?.["number"]).toBe(channels["phone"]?.["number"])
        expect(str(channels["email"]?.["address"])).toBe("alpha@agents.sandbox.test")
        expect(channels["whatsapp"]?.["status"]).toBe("active")
        expect(str(channels["voiceAi"]?.["appSid"])).toMatch(/^AP[0-9a-f]{32}$/)
        expect(a.json["poolSlotsRemaining"]).toBe(4)
        const tokenA = str(a.json["securityToken"])
        expect(tokenA).toMatch(/^aoc_[A-Za-z0-9_-]{43}$/)

        const b = yield* callTool(client, "comms_provision_channels", { ...provisionArgs("beta"), securityToken: MASTER })
        const tokenB = str(b.json["securityToken"])

        const status = yield* callTool(client, "comms_get_channel_status", { agentId: "alpha", securityToken: tokenA })
        expect(status.isError).toBe(false)
        expect(status.json["agentId"]).toBe("alpha")
        expect((status.json["channels"] as Record<string, unknown>)["phone"]).toMatchObject({
          number: channels["phone"]?.["number"],
          status: "active",
          monthlyMessages: 0
        })
        expect(status.json["rateLimits"]).toMatchObject({ maxPerMinute: 10, maxPerDay: 500 })

        // B's token used for A: the impersonation guard
        const spoof = yield* callTool(client, "comms_get_channel_status", { agentId: "alpha", securityToken: tokenB })
        expect(spoof.isError).toBe(true)
        expect(errorCode(spoof)).toBe("forbidden")
        const spoofDeprovision = yield* callTool(client, "comms_deprovision_channels", {
          agentId: "alpha",
          securityToken: tokenB
        })
        expect(errorCode(spoofDeprovision)).toBe("forbidden")

        // an agent token cannot register agents
        const byAgent = yield* callTool(client, "comms_provision_channels", { ...provisionArgs("gamma"), securityToken: tokenA })
        expect(errorCode(byAgent)).toBe("forbidden")

        // provisioning an active agent again is refused, and takes no slot
        const again = yield* callTool(client, "comms_provision_channels", { ...provisionArgs("alpha"), securityToken: MASTER })
        expect(errorCode(again)).toBe("already_provisioned")
        const pool = yield* admin(url, "/admin/pool")
        expect(pool.body).toEqual({ maxAgents: 5, activeAgents: 2, slotsRemaining: 3 })

        // the master token may read any agent
        const byMaster = yield* callTool(client, "comms_get_channel_status", { agentId: "beta", securityToken: MASTER })
        expect(byMaster.json["agentId"]).toBe("beta")
      }))

    it.scoped("Bearer auth on the MCP connection; no token at all is unauthorized", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const master = yield* mcpClient(url, MASTER)
        const d = yield* callTool(master, "comms_provision_channels", provisionArgs("delta"))
        expect(d.isError).toBe(false)
        const agent = yield* mcpClient(url, str(d.json["securityToken"]))
        const ok = yield* callTool(agent, "comms_get_channel_status", { agentId: "delta" })
        expect(ok.isError).toBe(false)
        const other = yield* callTool(agent, "comms_get_channel_status", { agentId: "alpha" })
        expect(errorCode(other)).toBe("forbidden")

        const anonymous = yield* mcpClient(url)
        const none = yield* callTool(anonymous, "comms_get_channel_status", { agentId: "delta" })
        expect(errorCode(none)).toBe("unauthorized")
        const bogus = yield* callTool(anonymous, "comms_get_channel_status", { agentId: "delta", securityToken: "aoc_nope" })
        expect(errorCode(bogus)).toBe("unauthorized")
      }))

    it.scoped("malformed input is invalid_input with the Schema's message, before anything runs", () =>
      Effect.gen(function*() {
        const client = yield* mcpClient(yield* baseUrl, MASTER)
        // real clients list tools first; the SDK then validates results against outputSchema, so
        // errors must still come back as tool errors, not as client exceptions
        yield* Effect.promise(() => client.listTools())
        const bad = yield* callTool(client, "comms_provision_channels", {
          ...provisionArgs("epsilon"),
          country: "usa",
          capabilities: { phone: "yes" }
        })
        expect(bad.isError).toBe(true)
        expect(errorCode(bad)).toBe("invalid_input")
        const message = str((bad.json["error"] as Record<string, unknown>)["message"])
        expect(message).toContain("country: country must be an ISO 3166-1 alpha-2 code")
        expect(message).toContain("capabilities.phone")
        expect(message).toContain("capabilities.email")
        const extra = yield* callTool(client, "comms_get_channel_status", { agentId: "alpha", sneaky: 1 })
        expect(errorCode(extra)).toBe("invalid_input")
        const badId = yield* callTool(client, "comms_get_channel_status", { agentId: "../etc" })
        expect(errorCode(badId)).toBe("invalid_input")
        const unknownAgent = yield* callTool(client, "comms_get_channel_status", { agentId: "nobody" })
        expect(errorCode(unknownAgent)).toBe("not_found")
      }))

    it.scoped("deprovision frees a slot and kills the token; 6 concurrent provisions on the pool fill it exactly", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const master = yield* mcpClient(url, MASTER)
        // state so far: alpha, beta, delta active (3 of 5)
        const status = yield* callTool(master, "comms_get_channel_status", { agentId: "beta" })
        expect(status.isError).toBe(false)
        const rotated = yield* admin(url, "/admin/agents/beta/tokens/rotate", { method: "POST" })
        expect(rotated.status).toBe(200)
        const betaToken = str(rotated.body["securityToken"])
        const agent = yield* mcpClient(url)
        expect((yield* callTool(agent, "comms_get_channel_status", { agentId: "beta", securityToken: betaToken })).isError)
          .toBe(false)

        const gone = yield* callTool(master, "comms_deprovision_channels", { agentId: "beta", releaseNumber: true })
        expect(gone.json).toMatchObject({ agentId: "beta", status: "deprovisioned", releasedNumber: true, poolSlotsRemaining: 3 })
        expect(gone.json["tokensRevoked"]).toBe(1)
        const dead = yield* callTool(agent, "comms_get_channel_status", { agentId: "beta", securityToken: betaToken })
        expect(errorCode(dead)).toBe("unauthorized")
        yield* callTool(master, "comms_deprovision_channels", { agentId: "delta" })
        // 1 active (alpha): 4 free slots, 6 concurrent provisions → exactly 4 succeed... so free one more first
        yield* callTool(master, "comms_deprovision_channels", { agentId: "alpha" })
        const results = yield* Effect.forEach(
          [1, 2, 3, 4, 5, 6],
          (i) => callTool(master, "comms_provision_channels", provisionArgs(`crowd-${i}`)),
          { concurrency: "unbounded" }
        )
        const ok = results.filter((r) => !r.isError)
        const refused = results.filter((r) => r.isError)
        expect(ok).toHaveLength(5)
        expect(refused.map(errorCode)).toEqual(["pool_exhausted"])
        const numbers = ok.map((r) => (r.json["channels"] as Record<string, Record<string, unknown>>)["phone"]?.["number"])
        expect(new Set(numbers).size).toBe(5)
        const pool = yield* admin(url, "/admin/pool")
        expect(pool.body).toEqual({ maxAgents: 5, activeAgents: 5, slotsRemaining: 0 })
        const audit = yield* admin(url, "/admin/audit/verify")
        expect(audit.body).toMatchObject({ ok: true, brokenAt: null })
        expect(Number(audit.body["rows"])).toBeGreaterThan(10)
      }))

    it.effect("admin endpoints need ADMIN_TOKEN and answer 4xx with a JSON error body", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const res = yield* Effect.promise(() => fetch(`${url}/admin/pool`, { headers: { authorization: `Bearer ${MASTER}` } }))
        expect(res.status).toBe(401)
        expect(yield* Effect.promise(() => res.json())).toEqual({
          error: { code: "unauthorized", message: "a valid ADMIN_TOKEN bearer token is required" }
        })
        const missing = yield* admin(url, "/admin/agents/nobody/tokens/rotate", { method: "POST" })
        expect(missing.status).toBe(404)
        expect(missing.body).toMatchObject({ error: { code: "not_found" } })
        const badExpand = yield* admin(url, "/admin/pool/expand", { method: "POST", body: JSON.stringify({ by: -3 }) })
        expect(badExpand.status).toBe(400)
      }))
  })
})

describe("restart on the same DATA_DIR", () => {
  it.live("keeps agents, tokens and the pool", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "agentos-restart-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
      const env = { DATA_DIR: dir, INITIAL_AGENT_POOL_SIZE: "3" }
      const first = yield* Effect.scoped(Effect.gen(function*() {
        const ctx = yield* Layer.build(serverLayer(env))
        const url = yield* Effect.provide(baseUrl, ctx)
        const client = yield* mcpClient(url, MASTER)
        const out = yield* callTool(client, "comms_provision_channels", provisionArgs("persisted"))
        expect(out.isError).toBe(false)
        return out.json
      }))
      const token = str(first["securityToken"])
      yield* Effect.scoped(Effect.gen(function*() {
        const ctx = yield* Layer.build(serverLayer(env))
        const url = yield* Effect.provide(baseUrl, ctx)
        const client = yield* mcpClient(url)
        const status = yield* callTool(client, "comms_get_channel_status", { agentId: "persisted", securityToken: token })
        expect(status.isError).toBe(false)
        expect(status.json["channels"]).toMatchObject({
          phone: { number: (first["channels"] as Record<string, Record<string, unknown>>)["phone"]?.["number"] }
        })
        const pool = yield* admin(url, "/admin/pool")
        expect(pool.body).toEqual({ maxAgents: 3, activeAgents: 1, slotsRemaining: 2 })
      }))
    }).pipe(Effect.scoped), { timeout: 90_000 })
})
