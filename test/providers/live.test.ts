/**
 * The live stack (DEMO_MODE=false) through the official Twilio and SendGrid SDKs against loopback
 * emulators of their wire formats: provisioning buys and releases real-shaped numbers, messages go
 * out and their signed status callbacks come back, inbound SMS and email reach the orchestrator, the
 * ECDSA-signed Event Webhook settles status and opts out, forged posts are refused, mapped vendor
 * errors come back typed with nothing recorded.
 */
import { afterAll, describe, expect, layer } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import { randomBytes } from "node:crypto"
import twilio from "twilio"
import { PNG_BYTES, startCallbackReceiver, startMediaServer, waitFor } from "../support/callbackReceiver.ts"
import { baseUrl, callTool, errorCode, MASTER, mcpClient, provisionArgs, serverLayer } from "../support/server.ts"
import { startSendGridEmulator } from "../emulators/sendgrid/SendGridEmulator.ts"
import { startTwilioEmulator } from "../emulators/twilio/TwilioEmulator.ts"

const SIGNING_SECRET = "whsec_" + randomBytes(32).toString("base64")
const INBOUND_EMAIL_SECRET = "inbound-email-secret-" + randomBytes(8).toString("hex")
const HUMAN = "+12025550123"

const receiver = await startCallbackReceiver(SIGNING_SECRET)
const media = await startMediaServer()
const tw = await startTwilioEmulator()
const sg = await startSendGridEmulator()
afterAll(() => Promise.all([receiver.close(), media.close(), tw.close(), sg.close()]))

const env = {
  DEMO_MODE: "false",
  CREDENTIALS_ENCRYPTION_KEY: randomBytes(32).toString("hex"),
  CALLBACK_SIGNING_SECRET: SIGNING_SECRET,
  INBOUND_EMAIL_SECRET,
  AGENTOS_CALLBACK_URL: `${receiver.url}/agents/{agentId}/inbound`,
  INITIAL_AGENT_POOL_SIZE: "10",
  MEDIA_FETCH_ALLOW_PRIVATE: "true",
  TWILIO_ACCOUNT_SID: tw.accountSid,
  TWILIO_AUTH_TOKEN: tw.authToken,
  TWILIO_API_BASE_URL: tw.url,
  TWILIO_TIMEOUT_MS: "2000",
  SENDGRID_API_KEY: sg.apiKey,
  SENDGRID_API_BASE_URL: sg.url,
  SENDGRID_EVENT_VERIFICATION_KEY: sg.verificationKey,
  SENDGRID_INBOUND_DOMAIN: "inbound.example.com"
}

const caps = { capabilities: { phone: true, whatsapp: false, email: true, voiceAi: false } }

const eventually = <A, R>(what: string, check: Effect.Effect<A | undefined, never, R>, seconds = 10) =>
  check.pipe(
    Effect.flatMap((a) => (a === undefined ? Effect.fail("pending" as const) : Effect.succeed(a))),
    Effect.retry({ schedule: Schedule.spaced("50 millis"), while: (e) => e === "pending" }),
    Effect.timeoutFail({ duration: `${seconds} seconds`, onTimeout: () => new Error(`timed out waiting for ${what}`) }),
    Effect.orDie
  )

const provision = (url: string, id: string) =>
  Effect.gen(function*() {
    const client = yield* mcpClient(url, MASTER)
    const out = yield* callTool(client, "comms_provision_channels", provisionArgs(id, caps))
    expect(out.isError, JSON.stringify(out.json)).toBe(false)
    const channels = out.json["channels"] as Record<string, Record<string, string>>
    return { id, token: String(out.json["securityToken"]), phone: channels["phone"]!["number"]!, email: channels["email"]!["address"]! }
  })

const tool = (url: string, token: string, name: string, args: Record<string, unknown>) =>
  Effect.flatMap(mcpClient(url), (client) => callTool(client, name, { ...args, securityToken: token }))

const messagesOf = (url: string, agent: { id: string; token: string }) =>
  Effect.map(tool(url, agent.token, "comms_get_messages", { agentId: agent.id }), (o) =>
    o.json["messages"] as ReadonlyArray<Record<string, unknown>>)

const postForm = (url: string, params: Record<string, string>, token: string) =>
  Effect.promise(async () => {
    const res = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        "x-twilio-signature": twilio.getExpectedTwilioSignature(token, url, params)
      },
      body: new URLSearchParams(params).toString()
    })
    return { status: res.status, body: await res.text() }
  })

describe("live providers against the Twilio and SendGrid emulators", () => {
  layer(serverLayer(env), { timeout: 60_000, excludeTestServices: true })((it) => {
    it.scoped("provisioning buys a number in the agent's country with our webhook URLs; deprovisioning releases it", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const agent = yield* provision(url, "prov-a")
        const bought = tw.numbers.find((n) => n.phoneNumber === agent.phone)
        expect(bought).toMatchObject({ country: "US", smsUrl: `${url}/webhooks/prov-a/sms`, voiceUrl: `${url}/webhooks/prov-a/voice` })
        expect(agent.email).toBe("prov-a@inbound.example.com")
        const master = yield* mcpClient(url, MASTER)
        const out = yield* callTool(master, "comms_deprovision_channels", { agentId: "prov-a", releaseNumber: true })
        expect(out.isError, JSON.stringify(out.json)).toBe(false)
        expect(out.json["releasedNumber"]).toBe(true)
        expect(bought?.released).toBe(true)
        const metrics = yield* Effect.promise(() => fetch(`${url}/metrics`).then((r) => r.text()))
        expect(metrics).toMatch(/comms_provider_up\{[^}]*provider="twilio"[^}]*\} 1/)
        expect(metrics).toMatch(/comms_provider_up\{[^}]*provider="sendgrid"[^}]*\} 1/)
        const ready = yield* Effect.promise(() => fetch(`${url}/health/ready`).then((r) => r.json() as Promise<Record<string, unknown>>))
        expect(ready["providers"]).toMatchObject({ "telephony:twilio": "ok", "email:sendgrid": "ok" })
      }))

    it.scoped("SMS and MMS out → signed status callbacks → delivered; an inbound SMS reaches the orchestrator", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const agent = yield* provision(url, "sms-a")
        const sms = yield* tool(url, agent.token, "comms_send_message", { agentId: agent.id, to: HUMAN, channel: "sms", body: "hello there" })
        expect(sms.isError, JSON.stringify(sms.json)).toBe(false)
        const mms = yield* tool(url, agent.token, "comms_send_message", {
          agentId: agent.id, to: HUMAN, channel: "sms", body: "a picture", mediaUrl: `${media.url}/cat.png`
        })
        expect(mms.isError, JSON.stringify(mms.json)).toBe(false)
        const sentMms = tw.messages.find((m) => m.body === "a picture")
        expect(sentMms?.mediaUrls).toEqual([`${media.url}/cat.png`])
        expect(sentMms?.statusCallback).toMatch(new RegExp(`^${url}/webhooks/sms-a/message-status\\?ref=`))
        for (const id of [sms.json["messageId"], mms.json["messageId"]]) {
          yield* eventually("delivered", Effect.map(messagesOf(url, agent), (ms) =>
            ms.find((m) => m["id"] === id && m["status"] === "delivered")))
        }
        // inbound: the emulator posts a signed SMS to the number's SmsUrl
        expect(yield* Effect.promise(() => tw.inboundSms(agent.phone, HUMAN, "hi agent"))).toBe(200)
        const delivery = yield* Effect.promise(() =>
          waitFor("the inbound callback", () => receiver.find((p) => p["body"] === "hi agent")[0]))
        expect(delivery.payload).toMatchObject({ agentId: "sms-a", channel: "sms", from: HUMAN, to: agent.phone })
      }))

    it.scoped("inbound sanity: To not the agent's number, or From not a number → 400 JSON, nothing stored", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const a = yield* provision(url, "sane-a")
        const b = yield* provision(url, "sane-b")
        const hook = `${url}/webhooks/sane-a/sms`
        const base = { MessageSid: "SM" + "1".repeat(32), AccountSid: tw.accountSid, Body: "x", NumMedia: "0" }
        const wrongTo = yield* postForm(hook, { ...base, From: HUMAN, To: b.phone }, tw.authToken)
        expect(wrongTo.status).toBe(400)
        expect(JSON.parse(wrongTo.body)).toMatchObject({ error: { code: "invalid_webhook" } })
        const badFrom = yield* postForm(hook, { ...base, MessageSid: "SM" + "2".repeat(32), From: "notanumber", To: a.phone }, tw.authToken)
        expect(badFrom.status).toBe(400)
        expect(JSON.parse(badFrom.body)).toMatchObject({ error: { code: "invalid_webhook" } })
        const sql = yield* SqlClient.SqlClient
        const rows = yield* sql`SELECT count(*)::int AS n FROM messages WHERE agent_id = 'sane-a'`
        expect(Number(rows[0]?.["n"])).toBe(0)
        const forged = yield* postForm(hook, { ...base, From: HUMAN, To: a.phone }, "f".repeat(32))
        expect(forged.status).toBe(403)
      }))

    it.scoped("email with an attachment out through SendGrid; Inbound Parse in; a signed bounce settles and opts out; a forged event is refused", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const agent = yield* provision(url, "mail-a")
        const out = yield* tool(url, agent.token, "comms_send_message", {
          agentId: agent.id, to: "person@example.org", channel: "email", subject: "Hi", body: "see attached",
          mediaUrl: `${media.url}/cat.png`
        })
        expect(out.isError, JSON.stringify(out.json)).toBe(false)
        const mail = sg.sent.at(-1)!
        expect(mail.body.from).toEqual({ email: agent.email, name: "Agent mail-a" })
        expect(mail.body.personalizations[0]?.to[0]?.email).toBe("person@example.org")
        expect(Buffer.from(mail.body.attachments?.[0]?.content ?? "", "base64")).toEqual(Buffer.from(PNG_BYTES))
        expect(mail.body.headers?.["List-Unsubscribe-Post"]).toBe("List-Unsubscribe=One-Click")
        expect(mail.body.headers?.["List-Unsubscribe"]).toMatch(/^<http/)

        // Inbound Parse, authenticated by the secret in the configured URL
        const inboundUrl = `${url}/webhooks/mail-a/email?key=${encodeURIComponent(INBOUND_EMAIL_SECRET)}`
        const status = yield* Effect.promise(() => sg.postInbound(inboundUrl, {
          from: "Person <person@example.org>", to: agent.email, subject: "Re: Hi", text: "thanks!",
          files: [{ name: "cat.png", type: "image/png", bytes: PNG_BYTES }]
        }))
        expect(status).toBe(200)
        const delivery = yield* Effect.promise(() => waitFor("the inbound email", () => receiver.find((p) => p["body"] === "thanks!")[0]))
        expect(delivery.payload).toMatchObject({ agentId: "mail-a", channel: "email", from: "person@example.org", subject: "Re: Hi" })

        // Event Webhook: forged refused, signed bounce applied
        const event = { email: "person@example.org", event: "bounce", sg_message_id: `${mail.messageId}.filter0001`, timestamp: 1 }
        expect(yield* Effect.promise(() => sg.postEvents(`${url}/webhooks/email-events`, [event], { forge: true }))).toBe(403)
        expect(yield* Effect.promise(() => sg.postEvents(`${url}/webhooks/email-events`, [event]))).toBe(200)
        yield* eventually("undelivered", Effect.map(messagesOf(url, agent), (ms) =>
          ms.find((m) => m["id"] === out.json["messageId"] && m["status"] === "undelivered")))
        const again = yield* tool(url, agent.token, "comms_send_message", {
          agentId: agent.id, to: "person@example.org", channel: "email", subject: "Hi again", body: "still there?"
        })
        expect(errorCode(again)).toBe("opted_out")
      }))

    it.scoped("a mapped vendor error comes back as an error, nothing is recorded as sent and no spend is kept", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const agent = yield* provision(url, "err-a")
        const before = tw.messages.length
        tw.nextError = { code: 21211, status: 400 }
        const out = yield* tool(url, agent.token, "comms_send_message", { agentId: agent.id, to: HUMAN, channel: "sms", body: "x" })
        expect(out.isError).toBe(true)
        expect(JSON.stringify(out.json)).toContain("21211")
        expect(tw.messages.length).toBe(before)
        const sql = yield* SqlClient.SqlClient
        const rows = yield* sql`SELECT count(*)::int AS n FROM messages WHERE agent_id = 'err-a'`
        expect(Number(rows[0]?.["n"])).toBe(0)
        const usage = yield* sql`SELECT count(*)::int AS n FROM usage_logs WHERE agent_id = 'err-a'`
        expect(Number(usage[0]?.["n"])).toBe(0)
      }))
  })
})
