/**
 * Retention and GDPR erasure, on PGlite and on PostgreSQL.
 */
import { expect, layer, type Vitest } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { inject } from "vitest"
import { AgentId } from "../../schema/Ids.ts"
import { TestDomain } from "../../layers/Test.ts"
import { OutboxDeliverer } from "../../src/callbacks/OutboxDeliverer.ts"
import { contactVariants, Erasure } from "../../src/messaging/Erasure.ts"
import { MessagesRepo, type NewMessage } from "../../src/messaging/MessagesRepo.ts"
import { Retention } from "../../src/messaging/Retention.ts"
import { Cipher } from "../../src/security/Cipher.ts"
import { provisionAgent } from "../support/agents.ts"
import { freshPgDatabase } from "../support/postgres.ts"

const PERSON = "+12025550123"
const OTHER = "+12025550124"

const provision = (id: string) =>
  provisionAgent(id, { issueToken: false, privacy: { storeBodies: ["sms", "email"], retentionDays: 1 } })

const message = (agentId: string, over: Partial<NewMessage> & Pick<NewMessage, "contact" | "body">): NewMessage => ({
  agentId,
  channel: "sms",
  direction: "inbound",
  from: over.contact,
  to: "+12125550100",
  subject: null,
  media: [],
  provider: "sandbox",
  externalId: null,
  status: "received",
  cost: null,
  fromAgentId: null,
  privacy: { storeBodies: ["sms", "email"], retentionDays: 1 },
  ...over
})

const insert = (m: NewMessage) =>
  Effect.flatMap(MessagesRepo, (repo) =>
    repo.insert(m).pipe(
      Effect.orDie,
      Effect.map((id) => Option.getOrThrow(id))
    ))

const count = (query: Effect.Effect<ReadonlyArray<Record<string, unknown>>, unknown>) =>
  Effect.map(Effect.orDie(query), (rows) => Number(rows[0]?.["n"]))

const suite = (it: Vitest.MethodsNonLive<Layer.Layer.Success<ReturnType<typeof TestDomain>>, false>) => {
  it.effect("retention: expired bodies are deleted, unexpired ones kept; delivered callbacks go after a week", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const cipher = yield* Cipher
      const retention = yield* Retention
      yield* provision("ret-1")
      const expiring = yield* insert(message("ret-1", { contact: "+12025550125", body: "old secret" }))
      const keeping = yield* insert(message("ret-1", { contact: "+12025550125", body: "fresh secret" }))
      const stored = yield* sql`SELECT id, body, body_expires_at FROM messages WHERE id IN (${expiring}, ${keeping})`
      expect(stored).toHaveLength(2)
      for (const r of stored) {
        expect(String(r["body"])).toMatch(/^v1:/)
        const days = (new Date(r["bodyExpiresAt"] as string).getTime() - Date.now()) / 86_400_000
        expect(days).toBeGreaterThan(0.99)
        expect(days).toBeLessThanOrEqual(1)
      }
      yield* sql`UPDATE messages SET body_expires_at = now() - interval '1 minute' WHERE id = ${expiring}`

      yield* sql`INSERT INTO webhook_outbox (agent_id, webhook_id, payload, delivered_at) VALUES
        ('ret-1', 'msg_old_delivered', '{}'::jsonb, now() - interval '8 days'),
        ('ret-1', 'msg_recent_delivered', '{}'::jsonb, now() - interval '1 day')`
      yield* sql`INSERT INTO webhook_outbox (agent_id, webhook_id, payload, created_at) VALUES
        ('ret-1', 'msg_old_pending', '{"sealed":"v1:x"}'::jsonb, now() - interval '30 days')`

      const swept = yield* retention.sweep
      expect(swept.bodiesPurged).toBeGreaterThanOrEqual(1)
      expect(swept.deliveredCallbacksPurged).toBe(1)
      const after = yield* sql`SELECT id, body, body_expires_at FROM messages WHERE id IN (${expiring}, ${keeping})`
      const byId = new Map(after.map((r) => [String(r["id"]), r]))
      expect(byId.get(expiring)).toMatchObject({ body: null, bodyExpiresAt: null })
      expect(cipher.decrypt("message-bodies", String(byId.get(keeping)?.["body"]))).toBe("fresh secret")
      const left = yield* sql`SELECT webhook_id FROM webhook_outbox WHERE agent_id = 'ret-1' ORDER BY webhook_id`
      expect(left.map((r) => r["webhookId"])).toEqual(["msg_old_pending", "msg_recent_delivered"])
      // a callback never accepted for longer than CALLBACK_MAX_AGE_HOURS is given up and its sealed body wiped
      expect(swept.callbacksExpired).toBeGreaterThanOrEqual(1)
      const given = yield* sql`SELECT payload, last_error FROM webhook_outbox WHERE webhook_id = 'msg_old_pending'`
      expect(given).toEqual([{ payload: {}, lastError: "expired" }])
      const again = yield* retention.sweep
      expect(again.bodiesPurged).toBe(0)
      expect(again.callbacksExpired).toBe(0)
    }))

  it.effect("erasure: the contact's messages (every agent, both ways, any spelling), pending callbacks, calls and counters; audited by counts", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const erasure = yield* Erasure
      const outbox = yield* OutboxDeliverer
      yield* provision("era-1")
      yield* provision("era-2")
      const inbound = yield* insert(message("era-1", { contact: PERSON, body: "hello" }))
      yield* insert(message("era-1", { contact: PERSON, body: "reply", direction: "outbound", from: "+12125550100", to: PERSON }))
      yield* insert(message("era-2", { contact: PERSON, body: "hi other agent" }))
      const kept = yield* insert(message("era-1", { contact: OTHER, body: "someone else" }))
      yield* insert(message("era-1", { contact: "person@example.com", channel: "email", from: "Person@Example.com", body: "mail" }))
      yield* outbox.enqueue({
        agentId: "era-1",
        webhookId: `msg_${inbound}`,
        payload: {
          type: "message.received",
          agentId: AgentId.make("era-1"),
          channel: "sms",
          from: PERSON,
          to: "+12125550100",
          body: "hello",
          media: [],
          providerMessageId: "SM1",
          receivedAt: "2026-11-25T12:00:00.000Z"
        }
      })
      yield* sql`INSERT INTO contact_frequency (agent_id, contact_number, channel, action_date) VALUES
        ('era-1', ${PERSON}, 'sms', CURRENT_DATE), ('era-2', ${PERSON}, 'voice', CURRENT_DATE),
        ('era-1', ${OTHER}, 'sms', CURRENT_DATE)`
      yield* sql`INSERT INTO call_logs (agent_id, call_sid, direction, from_number, to_number) VALUES
        ('era-1', 'CA-erase-1', 'inbound', ${PERSON}, '+12125550100'),
        ('era-1', 'CA-erase-2', 'outbound', '+12125550100', ${OTHER})`

      const result = yield* erasure.eraseContact("+1 (202) 555-0123", "admin")
      expect(result).toEqual({ messagesDeleted: 3, contactFrequencyDeleted: 2, callLogsDeleted: 1, callbacksDeleted: 1 })
      expect(yield* count(sql`SELECT count(*) AS n FROM messages WHERE contact = ${PERSON}`)).toBe(0)
      expect(yield* count(sql`SELECT count(*) AS n FROM messages WHERE id = ${kept}`)).toBe(1)
      expect(yield* count(sql`SELECT count(*) AS n FROM contact_frequency WHERE contact_number = ${OTHER}`)).toBe(1)
      expect(yield* count(sql`SELECT count(*) AS n FROM call_logs WHERE call_sid = 'CA-erase-2'`)).toBe(1)
      expect(yield* count(sql`SELECT count(*) AS n FROM webhook_outbox WHERE webhook_id = ${`msg_${inbound}`}`)).toBe(0)

      const audit = yield* sql`SELECT actor, target, details FROM audit_log WHERE event_type = 'contact_erased'
        ORDER BY id DESC LIMIT 1`
      expect(audit[0]).toMatchObject({ actor: "admin", target: null })
      expect(JSON.stringify(audit)).not.toContain("555")

      // emails are matched whatever their case; erasing again finds nothing
      expect((yield* erasure.eraseContact("PERSON@example.COM", "admin")).messagesDeleted).toBe(1)
      expect(yield* erasure.eraseContact(PERSON, "admin")).toEqual({
        messagesDeleted: 0,
        contactFrequencyDeleted: 0,
        callLogsDeleted: 0,
        callbacksDeleted: 0
      })
    }))

  it.effect("contact spellings: as given, lower-cased, E.164", () =>
    Effect.sync(() => {
      expect(contactVariants(" +1 202-555-0123 ")).toEqual(["+1 202-555-0123", PERSON])
      expect(contactVariants("A@B.example")).toEqual(["A@B.example", "a@b.example"])
      expect(contactVariants("   ")).toEqual([])
    }))
}

const env = { INITIAL_AGENT_POOL_SIZE: "10" }
const options = { timeout: 60_000 }
layer(TestDomain({ env }), options)("retention and erasure on PGlite", suite)
layer(
  Layer.unwrapEffect(
    Effect.map(Effect.promise(() => freshPgDatabase(inject("pgUrl"))), (url) =>
      TestDomain({ env: { ...env, DATABASE_URL: url } }))
  ),
  options
)("retention and erasure on PostgreSQL", suite)
