import { describe, expect, layer } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { AgentId } from "../../schema/Ids.ts"
import { TestDomain } from "../../layers/Test.ts"
import { AgentRuntime } from "../../src/agents/AgentRuntime.ts"
import { SendMessage } from "../../src/agents/Commands.ts"
import { MessagesRepo } from "../../src/messaging/MessagesRepo.ts"
import { WhatsAppTemplates } from "../../src/messaging/WhatsAppTemplates.ts"
import { provisionAgent } from "../support/agents.ts"

const provision = provisionAgent

const send = (id: string, msg: ConstructorParameters<typeof SendMessage>[0]) =>
  Effect.flatMap(AgentRuntime, (s) => s.send(AgentId.make(id), new SendMessage(msg)))

const failureTag = <A, E extends { readonly _tag: string }, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.exit(effect), (exit) =>
    Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error._tag : `not a failure: ${exit._tag}`)

const HUMAN = "+12025550123"

describe("outbound messages (actor, sandbox carrier, no HTTP)", () => {
  layer(TestDomain({
      env: {
        INITIAL_AGENT_POOL_SIZE: "20",
        DEFAULT_MAX_MESSAGES_PER_DAY_SAME_CONTACT: "3",
        // the mirror receiver of the route-duplication test listens on loopback
        MEDIA_FETCH_ALLOW_PRIVATE: "true"
      }
    }), {
    timeout: 60_000,
    excludeTestServices: true
  })((it) => {
    it.effect("anti-harassment: at most N messages a day to one recipient, counted in contact_frequency", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        yield* provision("out-g")
        const target = "+12025550166"
        for (let i = 0; i < 3; i++) {
          expect((yield* send("out-g", { to: target, channel: "sms", body: `reminder ${i}` })).status).toBe("queued")
        }
        expect(yield* failureTag(send("out-g", { to: target, channel: "sms", body: "one more" }))).toBe("ContactLimit")
        expect((yield* send("out-g", { to: "+12025550167", channel: "sms", body: "someone else" })).status).toBe("queued")
        const freq = yield* sql`SELECT action_count FROM contact_frequency WHERE agent_id = 'out-g' AND contact_number = ${target}`
        expect(freq).toEqual([{ actionCount: 3 }])
      }))

    it.scoped("route duplication: SMS mirrored to a URL (best effort), email BCC'd; a dead mirror never fails the send", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const received: Array<Record<string, unknown>> = []
        const server = yield* Effect.acquireRelease(
          Effect.async<Server>((resume) => {
            const srv = createServer((req, res) => {
              let body = ""
              req.on("data", (c: Buffer) => (body += c.toString()))
              req.on("end", () => {
                received.push(JSON.parse(body) as Record<string, unknown>)
                res.writeHead(204).end()
              })
            })
            srv.listen(0, "127.0.0.1", () => resume(Effect.succeed(srv)))
          }),
          (srv) => Effect.async<void>((resume) => void srv.close(() => resume(Effect.void)))
        )
        const port = (server.address() as AddressInfo).port
        yield* provision("out-h", {
          routeDuplication: { sms: { mirrorTo: `http://127.0.0.1:${port}/mirror` }, email: { bccTo: "archive@example.com" } }
        })
        yield* provision("out-i", { routeDuplication: { sms: { mirrorTo: "http://127.0.0.1:9/nothing-listens" } } })
        const sms = yield* send("out-h", { to: HUMAN, channel: "sms", body: "mirror me" })
        expect((yield* send("out-i", { to: HUMAN, channel: "sms", body: "mirror lost" })).status).toBe("queued")
        yield* send("out-h", { to: "client@example.com", channel: "email", subject: "Invoice", body: "attached" })
        // the mirror is best effort, in the background: wait for it (bounded)
        for (let i = 0; i < 100 && received.length === 0; i++) yield* Effect.sleep("50 millis")
        yield* Effect.sleep("100 millis")
        expect(received).toHaveLength(1)
        expect(received[0]).toMatchObject({ type: "message.sent", agentId: "out-h", channel: "sms", to: HUMAN, body: "mirror me" })
        expect(sms.status).toBe("queued")
        const mail = yield* sql`SELECT bcc FROM sandbox_outbox WHERE to_address = 'client@example.com'`
        expect(mail).toEqual([{ bcc: "archive@example.com" }])
      }))

    it.effect("a text to a person: queued, metadata row without the body, the body reaches the sandbox outside world", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        yield* provision("out-a")
        const out = yield* send("out-a", { to: "+1 (202) 555-0123".replace(/[ ()-]/g, ""), channel: "sms", body: "Your table is booked" })
        expect(out).toMatchObject({ channel: "sms", status: "queued" })
        expect(out.toAgentId).toBeUndefined()
        const rows = yield* sql`SELECT direction, to_address, contact, body, status, provider FROM messages WHERE id = ${out.messageId}`
        expect(rows).toEqual([{ direction: "outbound", toAddress: HUMAN, contact: HUMAN, body: null, status: "queued", provider: "sandbox" }])
        yield* Effect.sleep("50 millis")
        const world = yield* sql`SELECT channel, to_address, body FROM sandbox_outbox
          WHERE to_address = ${HUMAN} AND body = 'Your table is booked'`
        expect(world).toEqual([{ channel: "sms", toAddress: HUMAN, body: "Your table is booked" }])
      }))

    it.effect("recipients: agentId in `to` or toAgentId resolves to that agent; bad addresses and missing channels are invalid_input", () =>
      Effect.gen(function*() {
        yield* provision("out-b")
        yield* provision("out-c", { capabilities: { phone: false, whatsapp: false, email: true, voiceAi: false } })
        const byId = yield* send("out-b", { to: "out-a", channel: "email", subject: "Hello", body: "hi there" })
        expect(byId.toAgentId).toBe("out-a")
        const byField = yield* send("out-b", { to: "ignored", toAgentId: AgentId.make("out-a"), channel: "sms", body: "hi" })
        expect(byField.toAgentId).toBe("out-a")
        expect(yield* failureTag(send("out-b", { to: "12345", channel: "sms", body: "x" }))).toBe("InvalidInput")
        expect(yield* failureTag(send("out-b", { to: "+15555550100", channel: "sms", body: "x" }))).toBe("InvalidInput")
        expect(yield* failureTag(send("out-b", { to: "not-an-email@", channel: "email", body: "x" }))).toBe("InvalidInput")
        // out-c has no phone: it cannot text, and it cannot be texted
        expect(yield* failureTag(send("out-c", { to: HUMAN, channel: "sms", body: "x" }))).toBe("InvalidInput")
        expect(yield* failureTag(send("out-b", { to: "out-c", channel: "sms", body: "x" }))).toBe("InvalidInput")
        expect(yield* failureTag(send("out-b", { to: "x", toAgentId: AgentId.make("ghost"), channel: "sms", body: "x" })))
          .toBe("NotFound")
        expect(yield* failureTag(send("out-b", { to: HUMAN, channel: "sms", body: "   " }))).toBe("InvalidInput")
      }))

    it.effect("attachments are never fetched from private or loopback addresses (SSRF)", () =>
      Effect.gen(function*() {
        yield* provision("out-j")
        for (const url of ["http://127.0.0.1:9/x.png", "http://169.254.169.254/latest/meta-data", "http://[::1]/a.pdf"]) {
          expect(yield* failureTag(send("out-j", {
            to: "someone@example.com",
            channel: "email",
            subject: "s",
            body: "see attached",
            mediaUrl: url
          }))).toBe("ProviderFailure")
        }
      }))

    it.effect("delivery status only moves forward; an unknown provider id reports no row", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const repo = yield* MessagesRepo
        yield* provision("out-k")
        const sent = yield* send("out-k", { to: HUMAN, channel: "sms", body: "status please" })
        const [row] = yield* sql`SELECT external_id FROM messages WHERE id = ${sent.messageId}`
        const externalId = String(row?.["externalId"])
        const statusOf = Effect.map(sql`SELECT status FROM messages WHERE id = ${sent.messageId}`, (r) => r[0]?.["status"])
        yield* Effect.sleep("300 millis") // the sandbox's own callback (delivered) may land first
        expect(yield* repo.setStatus("out-k", externalId, "delivered")).toBe(1)
        expect(yield* statusOf).toBe("delivered")
        expect(yield* repo.setStatus("out-k", externalId, "sent")).toBe(1)
        expect(yield* statusOf).toBe("delivered")
        expect(yield* repo.setStatus("out-k", externalId, "read")).toBe(1)
        expect(yield* statusOf).toBe("read")
        expect(yield* repo.setStatus("out-k", "SMnope", "delivered")).toBe(0)
      }))

    it.effect("the content filter blocks before any provider is called, and records a security event", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        yield* provision("out-d")
        const victim = "+12025550124"
        expect(yield* failureTag(send("out-d", { to: victim, channel: "sms", body: "I will kill you tonight" })))
          .toBe("ContentBlocked")
        yield* Effect.sleep("50 millis")
        expect(yield* sql`SELECT id FROM sandbox_outbox WHERE to_address = ${victim}`).toEqual([])
        expect(yield* sql`SELECT id FROM messages WHERE agent_id = 'out-d'`).toEqual([])
        const events = yield* sql`SELECT details FROM audit_log WHERE event_type = 'content_blocked' AND actor = 'out-d'`
        expect(events).toHaveLength(1)
        expect(JSON.stringify(events)).not.toContain("kill")
      }))

    it.effect("opted-in bodies are stored encrypted and read back decrypted; other channels keep none", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const repo = yield* MessagesRepo
        yield* provision("out-e", { privacy: { storeBodies: ["sms"], retentionDays: 7 } })
        const sms = yield* send("out-e", { to: HUMAN, channel: "sms", body: "secret plan at 5" })
        const mail = yield* send("out-e", { to: "person@example.com", channel: "email", subject: "s", body: "not stored" })
        const rows = yield* sql`SELECT id, body, body_expires_at FROM messages WHERE agent_id = 'out-e' ORDER BY created_at`
        const smsRow = rows.find((r) => r["id"] === sms.messageId)
        const mailRow = rows.find((r) => r["id"] === mail.messageId)
        expect(String(smsRow?.["body"])).toMatch(/^v1:/)
        expect(String(smsRow?.["body"])).not.toContain("secret plan")
        expect(smsRow?.["bodyExpiresAt"]).not.toBeNull()
        expect(mailRow?.["body"]).toBeNull()
        const history = yield* repo.list({ agentId: "out-e", channel: "all", contact: undefined, since: undefined, limit: 50 })
        expect(history.totalCount).toBe(2)
        expect(history.messages.map((m) => m.body)).toEqual([null, "secret plan at 5"])
        const onlySms = yield* repo.list({ agentId: "out-e", channel: "sms", contact: HUMAN, since: undefined, limit: 1 })
        expect(onlySms.messages.map((m) => m.id)).toEqual([sms.messageId])
      }))

    it.effect("WhatsApp: outside the 24-hour window free text is refused; an approved template passes", () =>
      Effect.gen(function*() {
        const templates = yield* WhatsAppTemplates
        yield* provision("out-f", { capabilities: { phone: true, whatsapp: true, email: false, voiceAi: false } })
        expect(yield* failureTag(send("out-f", { to: HUMAN, channel: "whatsapp", body: "hello" })))
          .toBe("WhatsAppTemplateRequired")
        yield* templates.register({ id: "appointment_reminder", body: "Hi {{1}}, see you at {{2}}.", language: "en" })
        expect(yield* failureTag(send("out-f", {
          to: HUMAN,
          channel: "whatsapp",
          body: "",
          templateId: "appointment_reminder",
          templateVars: { "1": "Dana" }
        }))).toBe("InvalidInput")
        const ok = yield* send("out-f", {
          to: HUMAN,
          channel: "whatsapp",
          body: "",
          templateId: "appointment_reminder",
          templateVars: { "1": "Dana", "2": "10:00" }
        })
        expect(ok.status).toBe("queued")
      }))
  })
})
