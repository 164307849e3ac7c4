/**
 * The callback outbox deliverer against a scripted HTTP client, on a TestClock:
 * signing, stable webhook-id, backoff, the lease, interruption, the loop's
 * wake-up and poll. On PGlite and on PostgreSQL.
 */
import { describe, expect, it, layer, type Vitest } from "@effect/vitest"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import * as TestServices from "effect/TestServices"
import * as fc from "fast-check"
import { randomBytes } from "node:crypto"
import { inject } from "vitest"
import { AgentId } from "../../schema/Ids.ts"
import type { CallbackPayload } from "../../schema/Webhooks.ts"
import { testConfig } from "../../layers/Test.ts"
import { backoffMillis, BATCH_SIZE, MAX_DELAY_MS, OutboxDeliverer } from "../../src/callbacks/OutboxDeliverer.ts"
import { AppConfig } from "../../src/config/AppConfig.ts"
import { Cipher } from "../../src/security/Cipher.ts"
import { MigratedDatabase } from "../../src/Server.ts"
import { verify } from "../../src/webhooks/StandardWebhooks.ts"
import { freshPgDatabase } from "../support/postgres.ts"

const SECRET = "whsec_" + randomBytes(32).toString("base64")
const CALLBACK_URL = "http://callback.test/agents/{agentId}/inbound"

type Step = number | "error" | "hang"

/** An HttpClient that records requests and answers from a script (default 200). */
const makeFakeHttp = () => {
  const state = {
    calls: [] as Array<{ url: string; headers: Record<string, string>; body: string }>,
    script: [] as Array<Step>
  }
  const client = HttpClient.make((request, url) =>
    Effect.suspend(() => {
      const body = request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : ""
      state.calls.push({ url: url.toString(), headers: { ...request.headers }, body })
      const step = state.script.shift() ?? 200
      if (step === "hang") return Effect.never
      if (step === "error") return Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport" }))
      return Effect.succeed(HttpClientResponse.fromWeb(request, new Response(null, { status: step })))
    })
  )
  return { state, layer: Layer.succeed(HttpClient.HttpClient, client) }
}

const deliveryLayer = (env: Record<string, string>, http: Layer.Layer<HttpClient.HttpClient>) =>
  OutboxDeliverer.Default.pipe(
    Layer.provideMerge(Layer.merge(Cipher.Default, http)),
    Layer.provideMerge(MigratedDatabase),
    Layer.provideMerge(AppConfig.Default),
    Layer.provide(testConfig(env))
  )

const payload = (agentId: string, body: string): CallbackPayload => ({
  type: "message.received",
  agentId: AgentId.make(agentId),
  channel: "sms",
  from: "+12025550123",
  to: "+12125550100",
  body,
  media: [],
  providerMessageId: "SM" + randomBytes(16).toString("hex"),
  receivedAt: "2026-11-25T12:00:00.000Z"
})

const row = (webhookId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`SELECT attempts, next_attempt_at, delivered_at, last_error, payload::text AS payload, lease_owner, lease_until
        FROM webhook_outbox WHERE webhook_id = ${webhookId}`.pipe(
      Effect.map((rows) => {
        const r = rows[0]
        if (r === undefined) throw new Error(`no outbox row ${webhookId}`)
        return {
          attempts: Number(r["attempts"]),
          nextAttemptAt: new Date(r["nextAttemptAt"] as string | Date).getTime(),
          delivered: r["deliveredAt"] !== null,
          lastError: r["lastError"] as string | null,
          payload: String(r["payload"]),
          leaseOwner: r["leaseOwner"] as string | null,
          leaseUntil: r["leaseUntil"] === null ? null : new Date(r["leaseUntil"] as string | Date).getTime()
        }
      }),
      Effect.orDie
    ))

const clear = Effect.flatMap(SqlClient.SqlClient, (sql) => sql`DELETE FROM webhook_outbox`.pipe(Effect.orDie))

/** Waits (in real time, while the TestClock stands still) until `check` holds. */
const until = (what: string, check: () => boolean) =>
  TestServices.provideLive(
    Effect.suspend(() => (check() ? Effect.void : Effect.fail("pending" as const))).pipe(
      Effect.retry({ schedule: Schedule.spaced("5 millis"), while: (e) => e === "pending" }),
      Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error(`timed out waiting for ${what}`) }),
      Effect.orDie
    )
  )

type Fake = ReturnType<typeof makeFakeHttp>

const suite = (fake: Fake, kind: "pglite" | "postgres") => (it: Vitest.MethodsNonLive<OutboxDeliverer | SqlClient.SqlClient | Cipher, false>) => {
  it.effect("signed POSTs with one webhook-id across attempts; backoff between them; 2xx marks delivered and wipes the payload", () =>
    Effect.gen(function*() {
      yield* clear
      const deliverer = yield* OutboxDeliverer
      fake.state.calls.length = 0
      fake.state.script = [500, "error", 200]
      const sent = payload("agent-1", "meet at noon")
      const t0 = yield* Clock.currentTimeMillis
      yield* deliverer.enqueue({ agentId: "agent-1", webhookId: "msg_one", payload: sent })

      const stored = yield* row("msg_one")
      expect(JSON.parse(stored.payload)).toEqual({ sealed: expect.stringMatching(/^v1:/) })
      expect(stored.payload).not.toContain("meet at noon")
      expect(stored.nextAttemptAt).toBe(t0)

      expect(yield* deliverer.deliverDue).toBe(1)
      const first = yield* row("msg_one")
      expect(first).toMatchObject({ attempts: 1, delivered: false, lastError: "http_500" })
      expect(first.nextAttemptAt - t0).toBeGreaterThanOrEqual(750)
      expect(first.nextAttemptAt - t0).toBeLessThanOrEqual(1250)
      expect(yield* deliverer.deliverDue).toBe(0) // not due yet

      yield* TestClock.adjust("1250 millis")
      expect(yield* deliverer.deliverDue).toBe(1)
      const second = yield* row("msg_one")
      const t1 = yield* Clock.currentTimeMillis
      expect(second).toMatchObject({ attempts: 2, delivered: false, lastError: "RequestError:Transport" })
      expect(second.nextAttemptAt - t1).toBeGreaterThanOrEqual(1500)
      expect(second.nextAttemptAt - t1).toBeLessThanOrEqual(2500)

      yield* TestClock.adjust("2500 millis")
      expect(yield* deliverer.deliverDue).toBe(1)
      expect(yield* row("msg_one")).toMatchObject({ attempts: 3, delivered: true, lastError: null, payload: "{}" })
      yield* TestClock.adjust("1 hour")
      expect(yield* deliverer.deliverDue).toBe(0)

      expect(fake.state.calls).toHaveLength(3)
      for (const call of fake.state.calls) {
        expect(call.url).toBe("http://callback.test/agents/agent-1/inbound")
        expect(call.headers["webhook-id"]).toBe("msg_one")
        expect(call.headers["content-type"]).toBe("application/json")
        expect(JSON.parse(call.body)).toEqual(sent)
        const at = Number(call.headers["webhook-timestamp"]) * 1000
        expect(verify({ secret: SECRET, headers: call.headers, body: call.body, nowMillis: at }).ok).toBe(true)
        expect(verify({ secret: "whsec_" + randomBytes(32).toString("base64"), headers: call.headers, body: call.body, nowMillis: at }).ok)
          .toBe(false)
      }
      // each attempt carries its own time, so receivers' replay windows hold
      expect(fake.state.calls.map((c) => Number(c.headers["webhook-timestamp"]) - Math.floor(t0 / 1000))).toEqual([0, 1, 3])
    }))

  it.effect("lease: a row in flight is not claimed again; a timed-out attempt backs off; an interrupted one gives its lease back", () =>
    Effect.gen(function*() {
      yield* clear
      const deliverer = yield* OutboxDeliverer
      fake.state.calls.length = 0
      fake.state.script = ["hang"]
      yield* deliverer.enqueue({ agentId: "agent-2", webhookId: "msg_lease", payload: payload("agent-2", "x") })
      const t0 = yield* Clock.currentTimeMillis

      const inFlight = yield* Effect.fork(deliverer.deliverDue)
      yield* until("the first POST", () => fake.state.calls.length === 1)
      // the lease is apart from the retry time
      const leased = yield* row("msg_lease")
      expect(leased.leaseUntil! - t0).toBe(60_000)
      expect(leased.leaseOwner).toBe(deliverer.owner)
      expect(leased.nextAttemptAt).toBe(t0)
      expect(yield* deliverer.deliverDue).toBe(0)
      expect(fake.state.calls).toHaveLength(1)

      yield* TestClock.adjust("10 seconds") // the request timeout
      expect(yield* Fiber.join(inFlight)).toBe(1)
      const timedOut = yield* row("msg_lease")
      const t1 = yield* Clock.currentTimeMillis
      expect(timedOut).toMatchObject({ attempts: 1, delivered: false, lastError: "timeout", leaseOwner: null, leaseUntil: null })
      expect(timedOut.nextAttemptAt - t1).toBeGreaterThanOrEqual(750)
      expect(timedOut.nextAttemptAt - t1).toBeLessThanOrEqual(1250)

      yield* TestClock.adjust("1250 millis")
      fake.state.script = ["hang", 200]
      const interrupted = yield* Effect.fork(deliverer.deliverDue)
      yield* until("the second POST", () => fake.state.calls.length === 2)
      yield* Fiber.interrupt(interrupted)
      const released = yield* row("msg_lease")
      expect(released).toMatchObject({ attempts: 1, delivered: false, leaseOwner: null, leaseUntil: null })
      expect(released.nextAttemptAt).toBeLessThanOrEqual(yield* Clock.currentTimeMillis)
      expect(yield* deliverer.deliverDue).toBe(1)
      expect(yield* row("msg_lease")).toMatchObject({ attempts: 2, delivered: true })
    }))

  it.effect("concurrent sweeps never claim the same row twice", () =>
    Effect.gen(function*() {
      yield* clear
      const deliverer = yield* OutboxDeliverer
      fake.state.calls.length = 0
      fake.state.script = []
      yield* deliverer.enqueueAll(Array.from({ length: BATCH_SIZE + 25 }, (_, i) => ({
        agentId: "agent-3",
        webhookId: `msg_c${i}`,
        payload: payload("agent-3", `m${i}`)
      })))
      const claimed = yield* Effect.all([deliverer.deliverDue, deliverer.deliverDue, deliverer.deliverDue], {
        concurrency: "unbounded"
      })
      const second = yield* deliverer.deliverDue
      expect(claimed.reduce((a, b) => a + b, 0) + second).toBe(BATCH_SIZE + 25)
      expect(Math.max(...claimed)).toBeLessThanOrEqual(BATCH_SIZE)
      const ids = fake.state.calls.map((c) => c.headers["webhook-id"])
      expect(ids).toHaveLength(BATCH_SIZE + 25)
      expect(new Set(ids).size).toBe(BATCH_SIZE + 25)
      expect(yield* deliverer.pending).toBe(0)
    }))

  it.effect("a payload that cannot be decrypted is never sent and is retried with backoff", () =>
    Effect.gen(function*() {
      yield* clear
      const sql = yield* SqlClient.SqlClient
      const deliverer = yield* OutboxDeliverer
      fake.state.calls.length = 0
      const now = yield* Clock.currentTimeMillis
      yield* sql`INSERT INTO webhook_outbox ${
        sql.insert({
          agentId: "agent-4",
          webhookId: "msg_bad",
          payload: JSON.stringify({ sealed: "v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }),
          nextAttemptAt: new Date(now)
        })
      }`
      expect(yield* deliverer.deliverDue).toBe(1)
      expect(fake.state.calls).toHaveLength(0)
      expect(yield* row("msg_bad")).toMatchObject({ attempts: 1, delivered: false, lastError: "undecryptable" })
    }))

  it.effect("a batch with mixed outcomes is recorded at once: delivered rows wiped, failed rows backed off", () =>
    Effect.gen(function*() {
      yield* clear
      const deliverer = yield* OutboxDeliverer
      fake.state.calls.length = 0
      const n = 30
      yield* deliverer.enqueueAll(Array.from({ length: n }, (_, i) => ({
        agentId: "agent-7",
        webhookId: `msg_b${i}`,
        payload: payload("agent-7", `b${i}`)
      })))
      // the fake answers in call order: every third call fails
      fake.state.script = Array.from({ length: n }, (_, i) => (i % 3 === 2 ? 503 : 200))
      const t0 = yield* Clock.currentTimeMillis
      expect(yield* deliverer.deliverDue).toBe(n)
      const failedIds = new Set(fake.state.calls.filter((_, i) => i % 3 === 2).map((c) => c.headers["webhook-id"]))
      expect(failedIds.size).toBe(n / 3)
      for (let i = 0; i < n; i++) {
        const r = yield* row(`msg_b${i}`)
        expect(r.leaseOwner).toBeNull()
        expect(r.attempts).toBe(1)
        if (failedIds.has(`msg_b${i}`)) {
          expect(r).toMatchObject({ delivered: false, lastError: "http_503" })
          expect(r.nextAttemptAt - t0).toBeGreaterThanOrEqual(750)
          expect(JSON.parse(r.payload)).toEqual({ sealed: expect.stringMatching(/^v1:/) })
        } else {
          expect(r).toMatchObject({ delivered: true, lastError: null, payload: "{}" })
        }
      }
      expect(yield* deliverer.pending).toBe(n / 3)
      yield* TestClock.adjust("2 seconds")
      expect(yield* deliverer.deliverDue).toBe(n / 3)
      expect(yield* deliverer.pending).toBe(0)
    }))

  it.effect("restart after a dead process: its leases are freed at once, a live deliverer's are kept (PostgreSQL)", () =>
    Effect.gen(function*() {
      yield* clear
      const sql = yield* SqlClient.SqlClient
      const deliverer = yield* OutboxDeliverer
      fake.state.calls.length = 0
      fake.state.script = []
      const now = yield* Clock.currentTimeMillis
      yield* deliverer.enqueueAll(["dead", "live"].map((who) => ({
        agentId: "agent-8",
        webhookId: `msg_${who}`,
        payload: payload("agent-8", who)
      })))
      // a process killed mid-delivery (its heartbeat still looks fresh) and one still running
      yield* sql`DELETE FROM webhook_outbox_workers`
      yield* sql`INSERT INTO webhook_outbox_workers (owner, alive_until) VALUES
        ('w_dead', ${new Date(now + 5_000)}), ('w_live', ${new Date(now + 15_000)})`
      for (const who of ["dead", "live"]) {
        yield* sql`UPDATE webhook_outbox SET lease_owner = ${`w_${who}`}, lease_until = ${new Date(now + 60_000)}
          WHERE webhook_id = ${`msg_${who}`}`
      }
      expect(yield* deliverer.deliverDue).toBe(0) // both leased
      // the dead one stops refreshing: once its heartbeat ran out, recovery frees its lease
      yield* TestClock.adjust("6 seconds")
      yield* sql`UPDATE webhook_outbox_workers SET alive_until = ${new Date(now + 21_000)} WHERE owner = 'w_live'`
      yield* deliverer.recoverLeases
      yield* deliverer.deliverDue
      const delivered = fake.state.calls.map((c) => c.headers["webhook-id"])
      expect(delivered).toContain("msg_dead")
      expect(yield* row("msg_dead")).toMatchObject({ delivered: true })
      if (kind === "pglite") {
        // one process per data directory: every foreign lease is a dead process's
        expect(delivered).toContain("msg_live")
      } else {
        expect(delivered).not.toContain("msg_live")
        expect(yield* row("msg_live")).toMatchObject({ delivered: false, leaseOwner: "w_live" })
      }
      // and our own heartbeat is there
      const me = yield* sql`SELECT owner FROM webhook_outbox_workers WHERE owner = ${deliverer.owner}`
      expect(me).toHaveLength(1)
    }))

  it.effect("PGlite restart: leases left by the previous process are freed even while its heartbeat looks fresh", () =>
    Effect.gen(function*() {
      if (kind !== "pglite") return
      yield* clear
      const sql = yield* SqlClient.SqlClient
      const deliverer = yield* OutboxDeliverer
      fake.state.calls.length = 0
      const now = yield* Clock.currentTimeMillis
      yield* deliverer.enqueue({ agentId: "agent-9", webhookId: "msg_killed", payload: payload("agent-9", "k") })
      yield* sql`INSERT INTO webhook_outbox_workers (owner, alive_until) VALUES ('w_killed', ${new Date(now + 15_000)})
        ON CONFLICT (owner) DO NOTHING`
      yield* sql`UPDATE webhook_outbox SET lease_owner = 'w_killed', lease_until = ${new Date(now + 60_000)}`
      expect(yield* deliverer.deliverDue).toBe(0)
      yield* deliverer.recoverLeases
      expect(yield* deliverer.deliverDue).toBe(1)
      expect(fake.state.calls.map((c) => c.headers["webhook-id"])).toEqual(["msg_killed"])
    }))

  it.effect("the loop: a wake-up delivers at once; without one, the poll finds the row within a second", () =>
    Effect.gen(function*() {
      yield* clear
      const deliverer = yield* OutboxDeliverer
      fake.state.calls.length = 0
      fake.state.script = []
      const loop = yield* Effect.fork(deliverer.run)
      yield* deliverer.enqueue({ agentId: "agent-5", webhookId: "msg_woken", payload: payload("agent-5", "a") })
      yield* deliverer.wake
      yield* until("the woken delivery", () => fake.state.calls.length === 1)
      yield* TestServices.provideLive(
        row("msg_woken").pipe(
          Effect.filterOrFail((r) => r.delivered, () => "pending" as const),
          Effect.retry({ schedule: Schedule.spaced("5 millis"), while: (e) => e === "pending" }),
          Effect.timeout("5 seconds"),
          Effect.orDie
        )
      )
      yield* TestServices.provideLive(Effect.sleep("50 millis"))

      yield* deliverer.enqueue({ agentId: "agent-5", webhookId: "msg_polled", payload: payload("agent-5", "b") })
      yield* TestServices.provideLive(Effect.sleep("100 millis"))
      expect(fake.state.calls).toHaveLength(1) // no wake-up: waits for the poll
      yield* TestClock.adjust("1 second")
      yield* until("the polled delivery", () => fake.state.calls.length === 2)
      expect(fake.state.calls[1]?.headers["webhook-id"]).toBe("msg_polled")
      yield* Fiber.interrupt(loop)
    }))
}

const env = { AGENTOS_CALLBACK_URL: CALLBACK_URL, CALLBACK_SIGNING_SECRET: SECRET }
const options = { timeout: 60_000 }

const pgliteHttp = makeFakeHttp()
layer(deliveryLayer(env, pgliteHttp.layer), options)("outbox deliverer on PGlite", suite(pgliteHttp, "pglite"))

const pgHttp = makeFakeHttp()
layer(
  Layer.unwrapEffect(
    Effect.map(Effect.promise(() => freshPgDatabase(inject("pgUrl"))), (url) =>
      deliveryLayer({ ...env, DATABASE_URL: url }, pgHttp.layer))
  ),
  options
)("outbox deliverer on PostgreSQL", suite(pgHttp, "postgres"))

const noUrlHttp = makeFakeHttp()
layer(deliveryLayer({ CALLBACK_SIGNING_SECRET: SECRET }, noUrlHttp.layer), options)("without AGENTOS_CALLBACK_URL", (it) => {
  it.effect("rows wait in the outbox; nothing is claimed or sent", () =>
    Effect.gen(function*() {
      const deliverer = yield* OutboxDeliverer
      yield* deliverer.enqueue({ agentId: "agent-6", webhookId: "msg_wait", payload: payload("agent-6", "c") })
      expect(yield* deliverer.deliverDue).toBe(0)
      expect(yield* deliverer.pending).toBe(1)
      expect(noUrlHttp.state.calls).toHaveLength(0)
      expect(yield* row("msg_wait")).toMatchObject({ attempts: 0, delivered: false })
    }))
})

describe("backoff", () => {
  it("exponential from 1 s, scaled by 0.75–1.25, capped at 10 minutes", () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffMillis(n, 0.5))).toEqual([1000, 2000, 4000, 8000, 16000])
    expect(backoffMillis(1, 0)).toBe(750)
    expect(backoffMillis(1, 0.999999)).toBe(1250)
    expect(backoffMillis(10, 0.5)).toBe(512_000)
    expect(backoffMillis(11, 0)).toBe(450_000)
    expect(backoffMillis(11, 0.5)).toBe(MAX_DELAY_MS)
    expect(backoffMillis(1_000, 0.9)).toBe(MAX_DELAY_MS)
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (n, j) => {
        const d = backoffMillis(n, j)
        const base = Math.min(1000 * 2 ** Math.min(n - 1, 30), MAX_DELAY_MS)
        return d >= Math.floor(base * 0.75) && d <= Math.min(Math.ceil(base * 1.25), MAX_DELAY_MS) &&
          backoffMillis(n + 1, j) >= d
      })
    )
  })
})
