/**
 * `comms_register_provider` over MCP on a running (sandbox-mode) server: wrong credentials are
 * refused and nothing is stored; right ones are verified against the SendGrid emulator, stored
 * AES-256-GCM sealed (the raw key is nowhere in the table), and used by the next action without a
 * restart — by the agent whose `providerOverrides` names the vendor, while another agent keeps the
 * default provider.
 */
import { afterAll, describe, expect, layer } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import { randomBytes } from "node:crypto"
import { startSendGridEmulator } from "../emulators/sendgrid/SendGridEmulator.ts"
import { baseUrl, callTool, errorCode, MASTER, mcpClient, provisionArgs, serverLayer } from "../support/server.ts"

const sg = await startSendGridEmulator()
afterAll(() => sg.close())

const env = {
  SENDGRID_API_BASE_URL: sg.url,
  SENDGRID_INBOUND_DOMAIN: "inbound.example.com",
  CREDENTIALS_ENCRYPTION_KEY: randomBytes(32).toString("hex")
}
const caps = { capabilities: { phone: false, whatsapp: false, email: true, voiceAi: false } }

describe("comms_register_provider", () => {
  layer(serverLayer(env), { timeout: 60_000, excludeTestServices: true })((it) => {
    it.scoped("refuses wrong credentials and stores nothing; seals right ones; the next action uses them", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const master = yield* mcpClient(url, MASTER)
        const sql = yield* SqlClient.SqlClient
        const register = (credentials: Record<string, unknown>) =>
          callTool(master, "comms_register_provider", { provider: "sendgrid", credentials })

        const badShape = yield* register({ apiKey: "not-a-key" })
        expect(errorCode(badShape)).toBe("invalid_input")
        expect(JSON.stringify(badShape.json)).not.toContain("not-a-key")
        const wrongKey = `SG.${randomBytes(11).toString("base64url")}.${randomBytes(32).toString("base64url")}`
        const refused = yield* register({ apiKey: wrongKey })
        expect(errorCode(refused)).toBe("provider_auth")
        expect(JSON.stringify(refused.json)).not.toContain(wrongKey)
        expect(yield* sql`SELECT * FROM provider_credentials`).toHaveLength(0)

        // an agent that asks for sendgrid, provisioned before it is registered, and one on the default
        const ovr = yield* callTool(master, "comms_provision_channels", provisionArgs("ovr", { ...caps, providerOverrides: { email: "sendgrid" } }))
        const plain = yield* callTool(master, "comms_provision_channels", provisionArgs("plain", caps))
        expect(ovr.isError || plain.isError).toBe(false)

        const ok = yield* register({ apiKey: sg.apiKey, eventVerificationKey: sg.verificationKey })
        expect(ok.isError, JSON.stringify(ok.json)).toBe(false)
        expect(ok.json).toEqual({ provider: "sendgrid", status: "active", capabilities: ["email"] })
        expect(JSON.stringify(ok.json)).not.toContain(sg.apiKey)
        const rows = yield* sql`SELECT * FROM provider_credentials`
        expect(rows).toHaveLength(1)
        expect(String(rows[0]?.["credentialsEncrypted"])).toMatch(/^v1:/)
        expect(JSON.stringify(rows)).not.toContain(sg.apiKey)
        expect(JSON.stringify(rows)).not.toContain(sg.apiKey.split(".")[2]!)
        const audit = yield* sql`SELECT * FROM audit_log`
        expect(JSON.stringify(audit)).not.toContain(sg.apiKey)

        // no restart: the agent with the override sends through SendGrid, the other stays on the default
        const before = sg.sent.length
        const send = (agent: Record<string, unknown>, id: string, body: string) =>
          Effect.flatMap(mcpClient(url), (c) =>
            callTool(c, "comms_send_message", {
              agentId: id, securityToken: agent["securityToken"], to: "someone@example.org", channel: "email", subject: "s", body
            }))
        const viaOverride = yield* send(ovr.json, "ovr", "through sendgrid")
        const viaDefault = yield* send(plain.json, "plain", "through the default")
        expect(viaOverride.isError || viaDefault.isError, JSON.stringify([viaOverride.json, viaDefault.json])).toBe(false)
        expect(sg.sent.slice(before).map((m) => m.body.content[0]?.value.split("\n")[0])).toEqual(["through sendgrid"])
      }))

    it.scoped("an agent's token cannot register a provider", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const master = yield* mcpClient(url, MASTER)
        const agent = yield* callTool(master, "comms_provision_channels", provisionArgs("nomaster", caps))
        const client = yield* mcpClient(url, String(agent.json["securityToken"]))
        const out = yield* callTool(client, "comms_register_provider", { provider: "sendgrid", credentials: { apiKey: sg.apiKey } })
        expect(errorCode(out)).toBe("forbidden")
      }))
  })
})
