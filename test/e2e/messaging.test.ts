/**
 * Messaging both ways, end to end over real HTTP in sandbox mode: MCP tools →
 * actor → sandbox carrier → our own webhooks (Twilio-signed form posts,
 * Inbound Parse multipart) → messages + callback outbox → a test orchestrator
 * that verifies the Standard Webhooks signature.
 */
import { afterAll, describe, expect, it, layer } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Schedule from "effect/Schedule"
import { randomBytes } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Cipher } from "../../src/security/Cipher.ts"
import { AppLive, HttpLive } from "../../src/Server.ts"
import { computeTwilioSignature } from "../../src/providers/twilio/TwilioSignature.ts"
import { TWIML_EMPTY } from "../../src/webhooks/WebhookRoutes.ts"
import {
  type CallbackReceiver,
  PNG_BYTES,
  startCallbackReceiver,
  startMediaServer,
  waitFor
} from "../support/callbackReceiver.ts"
import { ADMIN, baseUrl, callTool, errorCode, MASTER, mcpClient, provisionArgs, serverLayer } from "../support/server.ts"

const SIGNING_SECRET = "whsec_" + randomBytes(32).toString("base64")
const SANDBOX_AUTH_TOKEN = "sandbox-auth-token-e2e-" + randomBytes(8).toString("hex")
const INBOUND_EMAIL_SECRET = "inbound-email-secret-e2e-" + randomBytes(8).toString("hex")
const HUMAN = "+12025550123"

const receiver = await startCallbackReceiver(SIGNING_SECRET)
const media = await startMediaServer()
afterAll(() => Promise.all([receiver.close(), media.close()]))

const envFor = (r: CallbackReceiver) => ({
  INITIAL_AGENT_POOL_SIZE: "10",
  AGENTOS_CALLBACK_URL: `${r.url}/agents/{agentId}/inbound`,
  CALLBACK_SIGNING_SECRET: SIGNING_SECRET,
  SANDBOX_AUTH_TOKEN,
  INBOUND_EMAIL_SECRET,
  // the test's media server is on loopback, which the SSRF guard refuses by default
  MEDIA_FETCH_ALLOW_PRIVATE: "true"
})

const str = (v: unknown): string => {
  if (typeof v !== "string") throw new Error(`expected a string, got ${JSON.stringify(v)}`)
  return v
}
const obj = (v: unknown): Record<string, unknown> => {
  if (typeof v !== "object" || v === null) throw new Error(`expected an object, got ${JSON.stringify(v)}`)
  return v as Record<string, unknown>
}

/** Retries `check` every 50 ms until it yields a value (not undefined). */
const eventually = <A, E, R>(what: string, check: Effect.Effect<A | undefined, E, R>, seconds = 15) =>
  check.pipe(
    Effect.flatMap((a) => (a === undefined ? Effect.fail("pending" as const) : Effect.succeed(a))),
    Effect.retry({ schedule: Schedule.spaced("50 millis"), while: (e) => e === "pending" }),
    Effect.timeoutFail({ duration: `${seconds} seconds`, onTimeout: () => new Error(`timed out waiting for ${what}`) }),
    Effect.orDie
  )

const admin = (url: string, path: string, init: RequestInit = {}) =>
  Effect.promise(async () => {
    const res = await fetch(`${url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" }
    })
    return { status: res.status, body: await res.json() as Record<string, unknown> }
  })

/** POSTs a form to our webhook, signed as the sandbox carrier (Twilio's scheme) signs it, unless `signature` is given. */
const postSignedForm = (url: string, path: string, params: Record<string, string>, signature?: string | null) =>
  Effect.promise(async () => {
    const target = `${url}${path}`
    const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" }
    const sig = signature === undefined ? computeTwilioSignature(SANDBOX_AUTH_TOKEN, target, params) : signature
    if (sig !== null) headers["x-twilio-signature"] = sig
    const res = await fetch(target, { method: "POST", headers, body: new URLSearchParams(params).toString() })
    return { status: res.status, contentType: res.headers.get("content-type") ?? "", text: await res.text() }
  })

const sid = (prefix: string) => prefix + randomBytes(16).toString("hex")

const humanSms = (to: string, body: string, messageSid = sid("SM")) => ({
  MessageSid: messageSid,
  SmsSid: messageSid,
  AccountSid: sid("AC"),
  From: HUMAN,
  To: to,
  Body: body,
  NumMedia: "0"
})

interface AgentFixture {
  readonly id: string
  readonly token: string
  readonly phone: string
  readonly email: string
  readonly whatsapp: string
}

let fixture: { readonly alpha: AgentFixture; readonly beta: AgentFixture } | undefined

/** alpha (no body storage) and beta (bodies stored on every channel), provisioned once for the suite. */
const agents = (url: string) =>
  Effect.gen(function*() {
    if (fixture !== undefined) return fixture
    const client = yield* mcpClient(url, MASTER)
    const make = (id: string, extra: Record<string, unknown>) =>
      Effect.map(callTool(client, "comms_provision_channels", provisionArgs(id, extra)), (out): AgentFixture => {
        expect(out.isError).toBe(false)
        const channels = obj(out.json["channels"])
        return {
          id,
          token: str(out.json["securityToken"]),
          phone: str(obj(channels["phone"])["number"]),
          email: str(obj(channels["email"])["address"]),
          whatsapp: str(obj(channels["whatsapp"])["number"])
        }
      })
    const alpha = yield* make("alpha", {})
    const beta = yield* make("beta", { privacy: { storeBodies: ["sms", "email", "whatsapp"], retentionDays: 30 } })
    fixture = { alpha, beta }
    return fixture
  })

const send = (url: string, token: string, args: Record<string, unknown>) =>
  Effect.flatMap(mcpClient(url), (client) => callTool(client, "comms_send_message", { ...args, securityToken: token }))

const history = (url: string, agent: AgentFixture, args: Record<string, unknown> = {}) =>
  Effect.flatMap(mcpClient(url), (client) =>
    Effect.map(
      callTool(client, "comms_get_messages", { agentId: agent.id, securityToken: agent.token, ...args }),
      (out) => {
        expect(out.isError).toBe(false)
        return (out.json["messages"] as ReadonlyArray<Record<string, unknown>>)
      }
    ))

const deliveredWithBody = (body: string) =>
  Effect.promise(() => waitFor(`the callback with "${body}"`, () => receiver.find((p) => p["body"] === body)[0]))

describe("messaging both ways over real HTTP, sandbox mode", () => {
  layer(serverLayer(envFor(receiver)), { timeout: 120_000, excludeTestServices: true })((it) => {
    it.scoped("A→B SMS with media, addressed by agentId: in B's history and at the orchestrator, signed, with the media", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const { alpha, beta } = yield* agents(url)
        const text = "Hello beta, picture attached"
        const sent = yield* send(url, alpha.token, {
          agentId: "alpha",
          to: "beta",
          channel: "sms",
          body: text,
          mediaUrl: `${media.url}/cat.png`
        })
        expect(sent.isError).toBe(false)
        expect(sent.json).toMatchObject({ channel: "sms", status: "queued", toAgentId: "beta" })

        const delivery = yield* deliveredWithBody(text)
        expect(delivery.path).toBe("/agents/beta/inbound")
        expect(delivery.payload).toEqual({
          type: "message.received",
          agentId: "beta",
          channel: "sms",
          from: alpha.phone,
          to: beta.phone,
          body: text,
          media: [{ url: `${media.url}/cat.png`, contentType: "image/png" }],
          providerMessageId: expect.stringMatching(/^MM[0-9a-f]{32}$/),
          receivedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
          fromAgentId: "alpha"
        })
        expect(delivery.headers["content-type"]).toContain("application/json")
        expect(delivery.headers["webhook-id"]).toMatch(/^msg_[0-9a-f-]{36}$/)
        expect(receiver.attempts.filter((a) => a.webhookId === delivery.webhookId).every((a) => a.signatureValid))
          .toBe(true)

        const inbox = yield* history(url, beta, { channel: "sms" })
        const received = inbox.find((m) => m["direction"] === "inbound" && m["body"] === text)
        expect(received).toMatchObject({
          id: delivery.webhookId.slice("msg_".length),
          from: alpha.phone,
          to: beta.phone,
          fromAgentId: "alpha",
          status: "received",
          media: [{ url: `${media.url}/cat.png`, contentType: "image/png" }]
        })

        // the sender's row follows the carrier's status callback
        const outgoing = yield* eventually("alpha's message to be delivered", Effect.map(history(url, alpha), (ms) =>
          ms.find((m) => m["id"] === sent.json["messageId"] && m["status"] === "delivered")))
        expect(outgoing).toMatchObject({ direction: "outbound", to: beta.phone, body: null })
      }))

    it.scoped("A→B email with an attachment: the orchestrator gets it as a data: URL, the history keeps metadata", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const sql = yield* SqlClient.SqlClient
        const { alpha, beta } = yield* agents(url)
        const text = "Quarterly figures, see the attachment"
        const sent = yield* send(url, alpha.token, {
          agentId: "alpha",
          to: beta.email,
          channel: "email",
          subject: "Q3 report",
          body: text,
          mediaUrl: `${media.url}/cat.png`
        })
        expect(sent.isError).toBe(false)
        expect(sent.json["toAgentId"]).toBe("beta")

        const delivery = yield* deliveredWithBody(text)
        expect(delivery.path).toBe("/agents/beta/inbound")
        expect(delivery.payload).toMatchObject({
          type: "message.received",
          agentId: "beta",
          channel: "email",
          from: alpha.email,
          to: beta.email,
          subject: "Q3 report",
          body: text,
          fromAgentId: "alpha",
          media: [{ url: `data:image/png;base64,${PNG_BYTES.toString("base64")}`, contentType: "image/png" }]
        })
        expect(str(delivery.payload["providerMessageId"])).toMatch(/^<[0-9a-f]{24}@agents\.sandbox\.test>$/)

        const inbox = yield* history(url, beta, { channel: "email" })
        expect(inbox.find((m) => m["body"] === text)).toMatchObject({
          direction: "inbound",
          subject: "Q3 report",
          fromAgentId: "alpha",
          media: [{ url: "cid:cat.png", contentType: "image/png" }]
        })
        const withBytes = yield* sql`SELECT count(*)::int AS n FROM messages WHERE media::text LIKE '%data:%'`
        expect(withBytes[0]?.["n"]).toBe(0)
      }))

    it.scoped("a person's signed SMS is accepted; forged or unsigned gets 403 and a security event; a replay is processed once", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const sql = yield* SqlClient.SqlClient
        const { beta } = yield* agents(url)
        const path = "/webhooks/beta/sms"
        const params = humanSms(beta.phone, "Is the table for four still free?")

        const ok = yield* postSignedForm(url, path, params)
        expect(ok).toEqual({ status: 200, contentType: expect.stringContaining("text/xml"), text: TWIML_EMPTY })
        const delivery = yield* deliveredWithBody(params.Body)
        expect(delivery.payload).toMatchObject({ from: HUMAN, to: beta.phone, channel: "sms", media: [] })
        expect(delivery.payload).not.toHaveProperty("fromAgentId")

        const auditBefore = yield* sql`SELECT count(*)::int AS n FROM audit_log WHERE event_type = 'webhook_rejected'`
        // forged: the body changed after signing; unsigned: no header at all
        const forgedSid = sid("SM")
        const signed = humanSms(beta.phone, "original", forgedSid)
        const forged = yield* postSignedForm(url, path, { ...signed, Body: "tampered" }, computeTwilioSignature(
          SANDBOX_AUTH_TOKEN,
          `${url}${path}`,
          signed
        ))
        expect(forged.status).toBe(403)
        expect(JSON.parse(forged.text)).toEqual({
          error: { code: "forbidden", message: "the webhook signature is missing or invalid" }
        })
        const wrongKey = yield* postSignedForm(url, path, signed, computeTwilioSignature("not-the-token-xxxxxxxx", `${url}${path}`, signed))
        expect(wrongKey.status).toBe(403)
        const unsigned = yield* postSignedForm(url, path, humanSms(beta.phone, "no signature", forgedSid), null)
        expect(unsigned.status).toBe(403)
        const rejected = yield* sql`SELECT actor, target, details FROM audit_log WHERE event_type = 'webhook_rejected'
          ORDER BY id DESC LIMIT 3`
        expect(rejected).toHaveLength(3)
        expect(Number((yield* sql`SELECT count(*)::int AS n FROM audit_log WHERE event_type = 'webhook_rejected'`)[0]?.["n"]))
          .toBe(Number(auditBefore[0]?.["n"]) + 3)
        for (const row of rejected) {
          expect(row).toMatchObject({ actor: "webhook", target: "beta" })
          expect(JSON.stringify(row)).not.toContain(HUMAN)
        }
        expect(yield* sql`SELECT id FROM messages WHERE external_id = ${forgedSid}`).toEqual([])

        // the provider retries (or someone replays) the accepted request: acknowledged, not processed again
        const replay = yield* postSignedForm(url, path, params)
        expect(replay).toEqual(ok)
        const again = yield* postSignedForm(url, path, params)
        expect(again.status).toBe(200)
        const rows = yield* sql`SELECT id FROM messages WHERE external_id = ${params.MessageSid}`
        expect(rows).toHaveLength(1)
        yield* Effect.sleep("1500 millis")
        expect(receiver.find((p) => p["providerMessageId"] === params.MessageSid)).toHaveLength(1)
        const outbox = yield* sql`SELECT count(*)::int AS n FROM webhook_outbox WHERE webhook_id = ${`msg_${String(rows[0]?.["id"])}`}`
        expect(outbox[0]?.["n"]).toBe(1)
      }))

    it.scoped("webhook edge cases: unknown agent 404, undecodable 400, wrong channel 400, oversized 413, email key checked", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const { beta } = yield* agents(url)
        const nobody = yield* postSignedForm(url, "/webhooks/nobody/sms", humanSms("+12025550199", "hi"))
        expect(nobody.status).toBe(404)
        expect(JSON.parse(nobody.text)).toMatchObject({ error: { code: "not_found" } })

        const { MessageSid: _, ...noSid } = humanSms(beta.phone, "missing sid")
        const bad = yield* postSignedForm(url, "/webhooks/beta/sms", noSid)
        expect(bad.status).toBe(400)
        const badBody = JSON.parse(bad.text) as { error: { code: string; message: string } }
        expect(badBody.error.code).toBe("invalid_webhook")
        expect(badBody.error.message).toContain("MessageSid")
        expect(badBody.error.message).not.toContain("missing sid")

        const waOnSms = yield* postSignedForm(url, "/webhooks/beta/sms", {
          ...humanSms(`whatsapp:${beta.whatsapp}`, "wrong door"),
          From: `whatsapp:${HUMAN}`
        })
        expect(waOnSms.status).toBe(400)

        const huge = yield* postSignedForm(url, "/webhooks/beta/sms", humanSms(beta.phone, "x".repeat(1024 * 1024 + 10)))
        expect(huge.status).toBe(413)

        const form = new FormData()
        form.set("from", `Someone <person@example.com>`)
        form.set("to", beta.email)
        form.set("subject", "hi")
        form.set("text", "keyless mail")
        form.set("envelope", JSON.stringify({ to: [beta.email], from: "person@example.com" }))
        const postEmail = (query: string) =>
          Effect.promise(() =>
            fetch(`${url}/webhooks/beta/email${query}`, { method: "POST", body: form }).then(async (r) => ({
              status: r.status,
              body: await r.json() as Record<string, unknown>
            }))
          )
        expect((yield* postEmail("")).status).toBe(403)
        expect((yield* postEmail("?key=wrong-key-wrong-key")).status).toBe(403)
        const accepted = yield* postEmail(`?key=${encodeURIComponent(INBOUND_EMAIL_SECRET)}`)
        expect(accepted).toEqual({ status: 200, body: { status: "accepted" } })
        const delivery = yield* deliveredWithBody("keyless mail")
        expect(delivery.payload).toMatchObject({ channel: "email", from: "person@example.com", to: beta.email, media: [] })
        // signed status callback for a message we never sent: acknowledged
        const status = yield* postSignedForm(url, "/webhooks/beta/message-status", {
          MessageSid: sid("SM"),
          MessageStatus: "delivered",
          AccountSid: sid("AC")
        })
        expect(status.status).toBe(204)
        const call = yield* postSignedForm(url, "/webhooks/beta/call-status", {
          CallSid: sid("CA"),
          CallStatus: "completed",
          CallDuration: "12",
          AccountSid: sid("AC")
        })
        expect(call.status).toBe(204)
      }))

    it.scoped("the orchestrator failing twice still gets exactly one delivery, with one webhook-id across the attempts", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const sql = yield* SqlClient.SqlClient
        const { beta } = yield* agents(url)
        receiver.failNext = 2
        const params = humanSms(beta.phone, "Please call me back about the order")
        expect((yield* postSignedForm(url, "/webhooks/beta/sms", params)).status).toBe(200)
        const delivery = yield* deliveredWithBody(params.Body)
        const attempts = receiver.attempts.filter((a) => a.webhookId === delivery.webhookId)
        expect(attempts.map((a) => a.status)).toEqual([500, 500, 200])
        expect(attempts.every((a) => a.signatureValid && a.path === "/agents/beta/inbound")).toBe(true)
        expect(receiver.accepted.get(delivery.webhookId)).toHaveLength(1)
        const row = yield* sql`SELECT attempts, delivered_at IS NOT NULL AS delivered, last_error, payload::text AS payload
          FROM webhook_outbox WHERE webhook_id = ${delivery.webhookId}`
        expect(row).toEqual([{ attempts: 3, delivered: true, lastError: null, payload: "{}" }])
        yield* Effect.sleep("1500 millis")
        expect(receiver.accepted.get(delivery.webhookId)).toHaveLength(1)
      }))

    it.scoped("WhatsApp: outside the window refused with its code; an approved template passes; after the contact writes, free text passes", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const { alpha, beta } = yield* agents(url)
        const refused = yield* send(url, alpha.token, { agentId: "alpha", to: "beta", channel: "whatsapp", body: "hi on WhatsApp" })
        expect(refused.isError).toBe(true)
        expect(errorCode(refused)).toBe("whatsapp_template_required")

        const registered = yield* admin(url, "/admin/whatsapp/templates", {
          method: "POST",
          body: JSON.stringify({ id: "appointment_reminder", body: "Hi {{1}}, your appointment is at {{2}}." })
        })
        expect(registered).toEqual({
          status: 200,
          body: { id: "appointment_reminder", body: "Hi {{1}}, your appointment is at {{2}}.", language: "en", status: "approved" }
        })
        const listed = yield* admin(url, "/admin/whatsapp/templates")
        expect(listed.body["templates"]).toContainEqual(expect.objectContaining({ id: "appointment_reminder" }))

        const templated = yield* send(url, beta.token, {
          agentId: "beta",
          to: "alpha",
          channel: "whatsapp",
          body: "",
          templateId: "appointment_reminder",
          templateVars: { "1": "Alpha", "2": "10:00" }
        })
        expect(templated.isError).toBe(false)
        const delivery = yield* deliveredWithBody("Hi Alpha, your appointment is at 10:00.")
        expect(delivery.payload).toMatchObject({
          agentId: "alpha",
          channel: "whatsapp",
          from: beta.whatsapp,
          to: alpha.whatsapp,
          fromAgentId: "beta"
        })

        // beta wrote to alpha: alpha's 24-hour window with beta is open
        const reply = yield* send(url, alpha.token, { agentId: "alpha", to: "beta", channel: "whatsapp", body: "Thanks, see you then" })
        expect(reply.isError).toBe(false)
        const back = yield* deliveredWithBody("Thanks, see you then")
        expect(back.payload).toMatchObject({ agentId: "beta", channel: "whatsapp", fromAgentId: "alpha" })
      }))

    it.scoped("a threatening body is blocked before the carrier: content_blocked, nothing arrives", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const sql = yield* SqlClient.SqlClient
        const { alpha, beta } = yield* agents(url)
        const threat = "I will kill you tonight"
        const out = yield* send(url, alpha.token, { agentId: "alpha", to: "beta", channel: "sms", body: threat })
        expect(out.isError).toBe(true)
        expect(errorCode(out)).toBe("content_blocked")
        yield* Effect.sleep("1 second")
        expect(receiver.find((p) => p["body"] === threat)).toEqual([])
        const inbox = yield* history(url, beta)
        expect(inbox.some((m) => m["body"] === threat)).toBe(false)
        const audit = yield* sql`SELECT details FROM audit_log WHERE event_type = 'content_blocked' AND actor = 'alpha'`
        expect(audit.length).toBeGreaterThan(0)
        expect(JSON.stringify(audit)).not.toContain("kill")
      }))

    it.scoped("B's token cannot send as A", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const sql = yield* SqlClient.SqlClient
        const { beta } = yield* agents(url)
        const before = yield* sql`SELECT count(*)::int AS n FROM messages WHERE agent_id = 'alpha'`
        const spoof = yield* send(url, beta.token, { agentId: "alpha", to: HUMAN, channel: "sms", body: "sent as alpha" })
        expect(spoof.isError).toBe(true)
        expect(errorCode(spoof)).toBe("forbidden")
        expect(yield* sql`SELECT count(*)::int AS n FROM messages WHERE agent_id = 'alpha'`).toEqual(before)
        expect(yield* sql`SELECT id FROM sandbox_outbox WHERE body = 'sent as alpha'`).toEqual([])
      }))

    it.scoped("bodies: absent from the database unless opted in, AES-256-GCM encrypted when opted in; delivered callbacks keep nothing", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const sql = yield* SqlClient.SqlClient
        const cipher = yield* Cipher
        const { alpha, beta } = yield* agents(url)
        // beta → alpha: stored (encrypted) on beta's outbound row, absent on alpha's inbound row
        const text = "Secret meeting moved to Friday"
        const out = yield* send(url, beta.token, { agentId: "beta", to: "alpha", channel: "sms", body: text })
        expect(out.isError).toBe(false)
        yield* deliveredWithBody(text)

        const alphaRows = yield* sql`SELECT body FROM messages WHERE agent_id = 'alpha'`
        expect(alphaRows.length).toBeGreaterThan(0)
        expect(alphaRows.every((r) => r["body"] === null)).toBe(true)

        const betaRows = yield* sql`SELECT direction, body, body_expires_at FROM messages
          WHERE agent_id = 'beta' AND body IS NOT NULL`
        expect(betaRows.length).toBeGreaterThan(0)
        for (const r of betaRows) {
          expect(str(r["body"])).toMatch(/^v1:[A-Za-z0-9+/]+=*$/)
          const days = (new Date(String(r["bodyExpiresAt"])).getTime() - Date.now()) / 86_400_000
          expect(days).toBeGreaterThan(29.9)
          expect(days).toBeLessThanOrEqual(30)
        }
        const mine = betaRows.map((r) => cipher.decrypt("message-bodies", str(r["body"])))
        expect(mine).toContain(text)
        expect(mine.every((m) => typeof m === "string")).toBe(true)

        // no plaintext anywhere: bodies, outbox payloads
        for (const needle of [text, "Hello beta", "Quarterly figures", "table for four"]) {
          const hits = yield* sql`SELECT count(*)::int AS n FROM messages WHERE body LIKE ${`%${needle}%`}`
          expect(hits[0]?.["n"]).toBe(0)
          const outbox = yield* sql`SELECT count(*)::int AS n FROM webhook_outbox WHERE payload::text LIKE ${`%${needle}%`}`
          expect(outbox[0]?.["n"]).toBe(0)
        }
        const payloads = yield* sql`SELECT payload::text AS p FROM webhook_outbox WHERE delivered_at IS NOT NULL`
        expect(payloads.length).toBeGreaterThan(0)
        expect(payloads.every((r) => r["p"] === "{}")).toBe(true)
        // alpha's history (no opt-in) lists the message without its body
        const inbox = yield* history(url, alpha, { channel: "sms" })
        expect(inbox.filter((m) => m["direction"] === "inbound").every((m) => m["body"] === null)).toBe(true)
      }))

    it.scoped("admin: the sandbox outbox shows what left the server; erasure removes a contact's data", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const sql = yield* SqlClient.SqlClient
        const { alpha, beta } = yield* agents(url)
        const text = "Your order has shipped"
        expect((yield* send(url, alpha.token, { agentId: "alpha", to: HUMAN, channel: "sms", body: text })).isError).toBe(false)
        const outbox = yield* eventually("the sandbox outbox", Effect.map(admin(url, "/admin/sandbox/outbox?limit=5"), (r) => {
          const messages = r.body["messages"] as ReadonlyArray<Record<string, unknown>>
          return messages.find((m) => m["body"] === text)
        }))
        expect(outbox).toMatchObject({ channel: "sms", from: alpha.phone, to: HUMAN, status: "delivered" })
        expect((yield* admin(url, "/admin/sandbox/outbox?limit=0")).status).toBe(400)

        const before = yield* sql`SELECT count(*)::int AS n FROM messages WHERE contact = ${HUMAN}`
        expect(Number(before[0]?.["n"])).toBeGreaterThan(0)
        const erased = yield* admin(url, "/admin/erasure", { method: "POST", body: JSON.stringify({ contact: HUMAN }) })
        expect(erased.status).toBe(200)
        expect(erased.body).toMatchObject({ messagesDeleted: Number(before[0]?.["n"]), callLogsDeleted: 0 })
        expect(yield* sql`SELECT id FROM messages WHERE contact = ${HUMAN}`).toEqual([])
        expect((yield* history(url, beta, { contactNumber: HUMAN })).length).toBe(0)
        const audit = yield* sql`SELECT details FROM audit_log WHERE event_type = 'contact_erased' ORDER BY id DESC LIMIT 1`
        expect(audit).toHaveLength(1)
        expect(JSON.stringify(audit)).not.toContain(HUMAN)
        const unauthorized = yield* Effect.promise(() =>
          fetch(`${url}/admin/erasure`, { method: "POST", body: JSON.stringify({ contact: HUMAN }) }).then((r) => r.status)
        )
        expect(unauthorized).toBe(401)
      }))
  })
})

describe("restart with undelivered callbacks", () => {
  it.live("rows left in the outbox by a stopped server are delivered once by the next start", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "agentos-outbox-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
      const down = yield* Effect.acquireRelease(
        Effect.promise(() => startCallbackReceiver(SIGNING_SECRET)),
        (r) => Effect.promise(() => r.close())
      )
      down.failAll = true
      const env = { ...envFor(down), DATA_DIR: dir, INITIAL_AGENT_POOL_SIZE: "2" }
      const text = "Sent while the orchestrator was down"

      const webhookId = yield* Effect.scoped(Effect.gen(function*() {
        const ctx = yield* Layer.build(serverLayer(env))
        const url = yield* Effect.provide(baseUrl, ctx)
        const sql = yield* Effect.provide(SqlClient.SqlClient, ctx)
        const client = yield* mcpClient(url, MASTER)
        const out = yield* callTool(client, "comms_provision_channels", provisionArgs("gamma"))
        const number = str(obj(obj(out.json["channels"])["sms"])["number"])
        const params = humanSms(number, text)
        expect((yield* postSignedForm(url, "/webhooks/gamma/sms", params)).status).toBe(200)
        // wait for a failed attempt, then stop with the row undelivered
        return yield* eventually("a failed delivery attempt", Effect.map(
          sql`SELECT webhook_id, attempts FROM webhook_outbox WHERE delivered_at IS NULL AND attempts >= 1`,
          (rows) => rows[0] === undefined ? undefined : str(rows[0]["webhookId"])
        ))
      }))
      expect(down.accepted.size).toBe(0)
      expect(down.attempts.length).toBeGreaterThan(0)
      expect(down.attempts.every((a) => a.webhookId === webhookId && a.status === 500 && a.signatureValid)).toBe(true)

      down.failAll = false
      yield* Effect.scoped(Effect.gen(function*() {
        const ctx = yield* Layer.build(serverLayer(env))
        const sql = yield* Effect.provide(SqlClient.SqlClient, ctx)
        const delivery = yield* Effect.promise(() =>
          waitFor("the delivery after the restart", () => down.accepted.get(webhookId)?.[0], 20_000)
        )
        expect(delivery.payload).toMatchObject({ agentId: "gamma", channel: "sms", from: HUMAN, body: text })
        expect(delivery.path).toBe("/agents/gamma/inbound")
        yield* Effect.sleep("1500 millis")
        expect(down.accepted.get(webhookId)).toHaveLength(1)
        const row = yield* sql`SELECT delivered_at IS NOT NULL AS delivered, payload::text AS payload
          FROM webhook_outbox WHERE webhook_id = ${webhookId}`
        expect(row).toEqual([{ delivered: true, payload: "{}" }])
      }))
    }).pipe(Effect.scoped), { timeout: 120_000 })
})

describe("logs carry no personal data", () => {
  it.live("a full exchange logs events and ids, never numbers, addresses, bodies or tokens", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const capture = Logger.make(({ annotations, logLevel, message }) => {
        lines.push(JSON.stringify({ level: logLevel.label, message, annotations: Object.fromEntries(HashMap.toEntries(annotations)) }))
      })
      const config = Layer.mergeAll(
        Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries({
          MASTER_SECURITY_TOKEN: MASTER,
          ADMIN_TOKEN: ADMIN,
          PORT: "0",
          HOST: "127.0.0.1",
          DATA_DIR: ":memory:",
          ...envFor(receiver)
        })))),
        Logger.replace(Logger.defaultLogger, capture),
        Logger.minimumLogLevel(LogLevel.All)
      )
      const ctx = yield* Layer.build(HttpLive.pipe(Layer.provideMerge(AppLive), Layer.provide(config)))
      const url = yield* Effect.provide(baseUrl, ctx)
      const client = yield* mcpClient(url, MASTER)
      const provisioned = yield* Effect.forEach(["log-a", "log-b"], (id) =>
        Effect.map(callTool(client, "comms_provision_channels", provisionArgs(id)), (out) => {
          const channels = obj(out.json["channels"])
          return {
            token: str(out.json["securityToken"]),
            phone: str(obj(channels["phone"])["number"]),
            email: str(obj(channels["email"])["address"])
          }
        }))
      const [a, b] = provisioned as [typeof provisioned[number], typeof provisioned[number]]
      const smsText = "Private note for log-b about the surgery"
      const mailText = "Private mail body with an account number 4111"
      expect((yield* send(url, a.token, { agentId: "log-a", to: "log-b", channel: "sms", body: smsText })).isError).toBe(false)
      expect((yield* send(url, a.token, {
        agentId: "log-a",
        to: b.email,
        channel: "email",
        subject: "Private subject line",
        body: mailText,
        mediaUrl: `${media.url}/cat.png`
      })).isError).toBe(false)
      const human = humanSms(b.phone, "Human secret text")
      expect((yield* postSignedForm(url, "/webhooks/log-b/sms", human)).status).toBe(200)
      expect((yield* postSignedForm(url, "/webhooks/log-b/sms", { ...human, Body: "forged" }, "bogus")).status).toBe(403)
      yield* deliveredWithBody(smsText)
      yield* deliveredWithBody(mailText)
      yield* deliveredWithBody("Human secret text")

      const all = lines.join("\n")
      expect(all).toContain("inbound message accepted")
      expect(all).toContain("webhook_rejected")
      for (const secret of [HUMAN, a.phone, b.phone, a.email, b.email, a.token, b.token, smsText, mailText,
        "Private subject line", "Human secret text", "forged", SANDBOX_AUTH_TOKEN, INBOUND_EMAIL_SECRET, SIGNING_SECRET]) {
        expect(all).not.toContain(secret)
      }
    }).pipe(Effect.scoped), { timeout: 120_000 })
})
