/**
 * The agent guard on PGlite and on a real PostgreSQL: exact sliding windows, serialized
 * concurrent admits, spend reservations (fast-check), contact cap, quiet hours across US zones,
 * STOP/START, DNC, agent-to-agent exemptions, restart from the database, breach accounting.
 */
import { expect, layer, type Vitest } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Runtime from "effect/Runtime"
import * as TestClock from "effect/TestClock"
import fc from "fast-check"
import { inject } from "vitest"
import { fromUsd } from "../../src/billing/PriceTable.ts"
import { UsageDashboard } from "../../src/billing/UsageDashboard.ts"
import {
  type Admission,
  AgentGuard,
  type GuardState,
  type OutboundAction,
  rateLimitHits,
  RESERVATION_TTL_MS
} from "../../src/policy/AgentGuard.ts"
import { Compliance } from "../../src/policy/Compliance.ts"
import { GuardTest, makeAgent, pglite, postgres } from "./guard-layer.ts"

/** 2026-01-15 17:00 UTC: noon in New York, 09:00 in California (EST/PST). */
const T0 = Date.UTC(2026, 0, 15, 17, 0, 0)
const NY = "+12125550142"
const CA = "+14155550100"

const sms = (to: string, body = "hello"): OutboundAction => ({ kind: "message", channel: "sms", to, toAgentId: null, body })
const call = (to: string, minutes = 3): OutboundAction => ({
  kind: "call",
  channel: "voice",
  to,
  toAgentId: null,
  body: "",
  estimatedMinutes: minutes
})
const email = (to = "someone@example.com"): OutboundAction => ({
  kind: "message",
  channel: "email",
  to,
  toAgentId: null,
  body: "hi"
})

const ok = (admission: Admission) => ({
  ok: true as const,
  provider: "sandbox",
  externalId: `ext-${admission.reservationId.slice(0, 8)}`,
  actualCost: admission.reservedCost,
  channel: "sms",
  actionType: "send_sms",
  metadata: {}
})

type Services = Layer.Layer.Success<ReturnType<typeof GuardTest>>

/** Admits into a state cell (the test's stand-in for the actor's state). */
const admitInto = (cell: Ref.Ref<GuardState>, action: OutboundAction) =>
  Effect.gen(function*() {
    const guard = yield* AgentGuard
    const [admission, next] = yield* guard.admit(yield* Ref.get(cell), action)
    yield* Ref.set(cell, next)
    return admission
  })

const settleInto = (cell: Ref.Ref<GuardState>, admission: Admission, success: boolean) =>
  Effect.gen(function*() {
    const guard = yield* AgentGuard
    yield* Ref.set(cell, yield* guard.settle(yield* Ref.get(cell), admission, success ? ok(admission) : { ok: false }))
  })

const fresh = (label: string) =>
  Effect.gen(function*() {
    const guard = yield* AgentGuard
    const id = yield* makeAgent(label)
    const cell = yield* Ref.make(yield* guard.load(id))
    return { id, cell }
  })

const suite = (it: Vitest.MethodsNonLive<Services, false>) => {
  it.effect("window edges: 10 admits at t, the 11th waits until the oldest leaves; at t+60 s exactly one slot frees", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      // all ten at t: the 11th must wait the whole minute
      const a = yield* fresh("edge-a")
      const remaining: Array<number> = []
      for (let i = 0; i < 10; i++) remaining.push((yield* admitInto(a.cell, sms(NY))).remaining)
      expect(remaining).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0])
      const refused = yield* Effect.flip(admitInto(a.cell, sms(NY)))
      expect(refused).toMatchObject({ _tag: "RateLimited", reason: "per_minute", retryAfterSeconds: 60, remaining: 0 })

      // staggered: one at t, nine at t+10 s → the 11th waits 50 s; at t+60 s one (only one) fits
      const b = yield* fresh("edge-b")
      yield* admitInto(b.cell, sms(NY))
      yield* TestClock.setTime(T0 + 10_000)
      for (let i = 0; i < 9; i++) yield* admitInto(b.cell, sms(NY))
      expect(yield* Effect.flip(admitInto(b.cell, sms(NY)))).toMatchObject({ reason: "per_minute", retryAfterSeconds: 50 })
      yield* TestClock.setTime(T0 + 59_999)
      expect(yield* Effect.flip(admitInto(b.cell, sms(NY)))).toMatchObject({ reason: "per_minute", retryAfterSeconds: 1 })
      yield* TestClock.setTime(T0 + 60_000)
      const freed = yield* admitInto(b.cell, sms(NY))
      expect(freed.remaining).toBe(0)
      expect(yield* Effect.flip(admitInto(b.cell, sms(NY)))).toMatchObject({ reason: "per_minute", retryAfterSeconds: 10 })
      yield* TestClock.setTime(T0 + 70_000)
      for (let i = 0; i < 9; i++) yield* admitInto(b.cell, sms(NY))
      expect((yield* Effect.either(admitInto(b.cell, sms(NY))))._tag).toBe("Left")
    }))

  it.effect("the hour window refuses with the longest wait; a failed action gives its slot back", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const dashboard = yield* UsageDashboard
      const guard = yield* AgentGuard
      const a = yield* fresh("hour")
      yield* dashboard.setLimits(a.id, { maxActionsPerMinute: 5, maxActionsPerHour: 8 })
      yield* Ref.set(a.cell, yield* guard.reloadLimits(yield* Ref.get(a.cell)))
      for (let i = 0; i < 5; i++) yield* admitInto(a.cell, email())
      expect(yield* Effect.flip(admitInto(a.cell, email()))).toMatchObject({ reason: "per_minute", retryAfterSeconds: 60 })
      yield* TestClock.setTime(T0 + 60_000)
      const admitted: Array<Admission> = []
      for (let i = 0; i < 3; i++) admitted.push(yield* admitInto(a.cell, email()))
      expect(yield* Effect.flip(admitInto(a.cell, email()))).toMatchObject({
        reason: "per_hour",
        retryAfterSeconds: 3600 - 60
      })
      // the provider failed the last one: its slot is free again, spend released
      const last = admitted[2]
      if (last === undefined) throw new Error("unreachable")
      yield* settleInto(a.cell, last, false)
      expect(guard.remaining(yield* Ref.get(a.cell))).toBe(1)
      expect(guard.usage(yield* Ref.get(a.cell)).reserved).toBeCloseTo(0.007, 6)
      yield* admitInto(a.cell, email())
      expect((yield* Effect.either(admitInto(a.cell, email())))._tag).toBe("Left")
    }))

  it.effect("64 concurrent admits through the actor's serialization against a limit of 10: exactly 10", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const sql = yield* SqlClient.SqlClient
      const guard = yield* AgentGuard
      const a = yield* fresh("conc")
      const mailbox = yield* Effect.makeSemaphore(1)
      const results = yield* Effect.all(
        Array.from({ length: 64 }, (_, i) => mailbox.withPermits(1)(admitInto(a.cell, sms(i % 2 === 0 ? NY : CA)))),
        { concurrency: "unbounded", mode: "either" }
      )
      const admitted = results.filter(Either.isRight).map((r) => r.right)
      const refused = results.filter(Either.isLeft).map((r) => r.left)
      expect(admitted).toHaveLength(10)
      expect(refused).toHaveLength(54)
      expect(refused.every((e) => e._tag === "RateLimited" && e.reason === "per_minute")).toBe(true)
      yield* Effect.all(admitted.map((adm) => mailbox.withPermits(1)(settleInto(a.cell, adm, true))), {
        concurrency: "unbounded"
      })
      const rows = yield* sql`SELECT status, count(*) AS n FROM action_events WHERE agent_id = ${a.id} GROUP BY status`
      expect(rows.map((r) => [r["status"], Number(r["n"])])).toEqual([["settled", 10]])
      const logged = yield* sql`SELECT count(*) AS n FROM usage_logs WHERE agent_id = ${a.id}`
      expect(Number(logged[0]?.["n"])).toBe(10)
      expect(guard.remaining(yield* guard.load(a.id))).toBe(0)
    }))

  it.effect("spend reservations: interleaved admits and settles never exceed the daily cap by a micro-dollar (fast-check)", () =>
    Effect.gen(function*() {
      const runtime = yield* Effect.runtime<Services>()
      const sql = yield* SqlClient.SqlClient
      const guard = yield* AgentGuard
      const dashboard = yield* UsageDashboard
      const action = fc.oneof(
        fc.string({ minLength: 1, maxLength: 600 }).map((body) => sms(NY, body)),
        fc.string({ minLength: 1, maxLength: 300, unit: "grapheme" }).map((body) => sms(CA, body)),
        fc.integer({ min: 1, max: 12 }).map((m) => call(`+1212555${String(10_000 + m).slice(1)}`, m)),
        fc.constant(email()),
        fc.boolean().map((template): OutboundAction => ({ ...sms(NY), channel: "whatsapp", template })),
        fc.integer({ min: 0, max: 3 }).map((mediaCount) => ({ ...sms(NY), mediaCount }))
      )
      const scenario = fc.record({
        capCents: fc.integer({ min: 1, max: 300 }),
        steps: fc.array(fc.record({ action, outcome: fc.constantFrom("ok", "cheaper", "failed") }), {
          minLength: 5,
          maxLength: 40
        })
      })
      const property = (s: typeof scenario extends fc.Arbitrary<infer A> ? A : never) =>
        Effect.gen(function*() {
          yield* TestClock.setTime(T0)
          const id = yield* makeAgent("spend")
          yield* dashboard.setLimits(id, {
            maxActionsPerMinute: 1000,
            maxActionsPerHour: 1000,
            maxActionsPerDay: 1000,
            maxSpendPerDay: s.capCents / 100,
            maxCallsPerDayToSameNumber: 1000
          })
          const cell = yield* Ref.make(yield* guard.load(id))
          const mailbox = yield* Effect.makeSemaphore(1)
          const cap = s.capCents * 10_000
          let violations = 0
          let spendRefusals = 0
          const steps = s.steps.map((step) =>
            Effect.gen(function*() {
              const admission = yield* mailbox.withPermits(1)(
                Effect.gen(function*() {
                  const admitted = yield* Effect.either(admitInto(cell, step.action))
                  if (Either.isLeft(admitted) && admitted.left._tag === "RateLimited") spendRefusals++
                  const st = yield* Ref.get(cell)
                  if (st.spend.settledDay + st.spend.reserved > cap) violations++
                  return admitted
                })
              )
              if (Either.isLeft(admission)) return
              yield* Effect.yieldNow()
              const adm = admission.right
              const outcome = step.outcome === "failed"
                ? { ok: false as const }
                : { ...ok(adm), actualCost: step.outcome === "cheaper" ? adm.reservedCost / 2 : adm.reservedCost }
              yield* mailbox.withPermits(1)(
                Effect.gen(function*() {
                  yield* Ref.set(cell, yield* guard.settle(yield* Ref.get(cell), adm, outcome))
                })
              )
            })
          )
          yield* Effect.all(steps, { concurrency: "unbounded" })
          const [row] = yield* sql`SELECT coalesce(sum(cost), 0) AS total FROM usage_logs WHERE agent_id = ${id}`
          const spentMicros = fromUsd(Number(row?.["total"]))
          const final = yield* Ref.get(cell)
          return { violations, spentMicros, cap, final, spendRefusals }
        })
      let runsAtCap = 0
      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(scenario, async (s) => {
            const r = await Runtime.runPromise(runtime)(property(s))
            expect(r.violations).toBe(0)
            expect(r.spentMicros).toBeLessThanOrEqual(r.cap)
            expect(r.final.spend.reserved).toBe(0)
            expect(r.final.spend.settledDay).toBe(r.spentMicros)
            if (r.spendRefusals > 0) runsAtCap++
          }),
          { numRuns: 30 }
        )
      )
      // the property is only interesting if the caps were actually reached
      expect(runsAtCap).toBeGreaterThan(5)
    }), { timeout: 120_000 })

  it.effect("limits, windows, spend and reservations survive a restart (state dropped, load again)", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const sql = yield* SqlClient.SqlClient
      const guard = yield* AgentGuard
      const dashboard = yield* UsageDashboard
      const a = yield* fresh("restart")
      yield* dashboard.setLimits(a.id, { maxActionsPerMinute: 7, maxSpendPerDay: 0.5 })
      yield* Ref.set(a.cell, yield* guard.reloadLimits(yield* Ref.get(a.cell)))
      const adms: Array<Admission> = []
      for (let i = 0; i < 7; i++) adms.push(yield* admitInto(a.cell, sms(NY)))
      for (const adm of adms.slice(0, 5)) yield* settleInto(a.cell, adm, true)
      yield* settleInto(a.cell, adms[5] as Admission, false) // failed: slot back
      // adms[6] stays pending: the "actor" crashes here
      const before = yield* Ref.get(a.cell)

      const reloaded = yield* guard.load(a.id)
      expect(reloaded.limits.maxActionsPerMinute).toBe(7)
      expect(reloaded.limits.maxSpendPerDay).toBe(0.5)
      expect(reloaded.actions).toEqual(before.actions)
      expect(reloaded.spend.settledDay).toBe(before.spend.settledDay)
      expect(reloaded.spend.reserved).toBe(before.spend.reserved)
      expect(reloaded.pending.size).toBe(1)
      expect(guard.remaining(reloaded)).toBe(1)
      const cell = yield* Ref.make(reloaded)
      yield* admitInto(cell, sms(NY))
      expect(yield* Effect.flip(admitInto(cell, sms(NY)))).toMatchObject({ reason: "per_minute" })

      // a late settle of the orphan logs its cost exactly once
      const orphan = adms[6] as Admission
      yield* settleInto(cell, orphan, true)
      yield* settleInto(cell, orphan, true)
      const n = yield* sql`SELECT count(*) AS n FROM usage_logs WHERE id = ${orphan.reservationId}`
      expect(Number(n[0]?.["n"])).toBe(1)

      // a reservation whose admitter died and that nobody settles expires after the TTL:
      // spend released, rate slot kept (it may have gone out)
      yield* TestClock.setTime(T0 + 61_000)
      const dangling = yield* admitInto(cell, sms(NY))
      yield* TestClock.setTime(T0 + 61_000 + RESERVATION_TTL_MS)
      const afterTtl = yield* guard.load(a.id)
      expect(afterTtl.pending.size).toBe(0)
      expect(afterTtl.spend.reserved).toBe(0)
      expect(afterTtl.actions).toContain(dangling.at)
      const status = yield* sql`SELECT status FROM action_events WHERE id = ${dangling.reservationId}`
      expect(status[0]?.["status"]).toBe("expired")
    }))

  it.effect("anti-harassment: the third call of the day to one number is refused (ContactLimit); other numbers and SMS are not", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const a = yield* fresh("contact")
      const first = yield* admitInto(a.cell, call(NY))
      yield* settleInto(a.cell, first, true)
      const second = yield* admitInto(a.cell, call(NY))
      const refused = yield* Effect.flip(admitInto(a.cell, call(NY)))
      expect(refused).toMatchObject({ _tag: "ContactLimit", retryAfterSeconds: 7 * 3600 })
      yield* admitInto(a.cell, call(CA))
      yield* admitInto(a.cell, sms(NY))
      // a call that failed did not reach the person: it does not count
      yield* settleInto(a.cell, second, false)
      const third = yield* admitInto(a.cell, call(NY))
      yield* settleInto(a.cell, third, true)
      expect((yield* Effect.flip(admitInto(a.cell, call(NY))))._tag).toBe("ContactLimit")
      // the count survives a restart, and resets the next UTC day
      const guard = yield* AgentGuard
      const cell = yield* Ref.make(yield* guard.load(a.id))
      expect((yield* Effect.flip(admitInto(cell, call(NY))))._tag).toBe("ContactLimit")
      yield* TestClock.setTime(Date.UTC(2026, 0, 16, 15, 0))
      yield* admitInto(cell, call(NY))
    }))

  it.effect("quiet hours: 21:05 in New York is refused while 18:05 in California is allowed; 08:00 local opens each", () =>
    Effect.gen(function*() {
      const a = yield* fresh("tcpa")
      // 02:05 UTC = 21:05 EST = 18:05 PST
      yield* TestClock.setTime(Date.UTC(2026, 0, 15, 2, 5))
      expect(yield* Effect.flip(admitInto(a.cell, sms(NY)))).toMatchObject({
        _tag: "QuietHours",
        retryAfterSeconds: 10 * 3600 + 55 * 60
      })
      expect((yield* Effect.flip(admitInto(a.cell, call(NY))))._tag).toBe("QuietHours")
      yield* admitInto(a.cell, sms(CA))
      yield* admitInto(a.cell, email()) // email is exempt
      // 13:00 UTC = 08:00 EST = 05:00 PST
      yield* TestClock.setTime(Date.UTC(2026, 0, 15, 13, 0))
      yield* admitInto(a.cell, sms(NY))
      expect(yield* Effect.flip(admitInto(a.cell, call(CA)))).toMatchObject({
        _tag: "QuietHours",
        retryAfterSeconds: 3 * 3600
      })
      yield* TestClock.setTime(Date.UTC(2026, 0, 15, 16, 0)) // 08:00 PST
      yield* admitInto(a.cell, call(CA))
      // summer time: 01:05 UTC in July = 21:05 EDT
      yield* TestClock.setTime(Date.UTC(2026, 6, 15, 1, 5))
      expect((yield* Effect.flip(admitInto(a.cell, sms(NY))))._tag).toBe("QuietHours")
      // 850 straddles Eastern and Central: allowed only once it is 08:00 in Pensacola too
      yield* TestClock.setTime(Date.UTC(2026, 0, 15, 13, 30)) // 08:30 EST, 07:30 CST
      expect(yield* Effect.flip(admitInto(a.cell, sms("+18505550100")))).toMatchObject({ retryAfterSeconds: 1800 })
      yield* TestClock.setTime(Date.UTC(2026, 0, 15, 14, 0))
      yield* admitInto(a.cell, sms("+18505550100"))
    }))

  it.effect("STOP opts the contact out of that agent (OptedOut); START re-enables; HELP answers; YES alone is no keyword", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const guard = yield* AgentGuard
      const a = yield* fresh("stop")
      const b = yield* fresh("other")
      expect(yield* guard.handleInboundKeyword(a.id, NY, "sms", "yes")).toEqual(Option.none())
      const stop = yield* guard.handleInboundKeyword(a.id, `whatsapp:${NY}`, "whatsapp", "  Stop. ")
      expect(Option.map(stop, (s) => s.action)).toEqual(Option.some("opt_out"))
      expect(Option.getOrThrow(stop).reply).toMatch(/unsubscribed.*Reply START/)
      expect(yield* Effect.flip(admitInto(a.cell, sms(NY)))).toMatchObject({ _tag: "OptedOut" })
      expect((yield* Effect.flip(admitInto(a.cell, call(NY))))._tag).toBe("OptedOut")
      // opt-outs also bind agent-to-agent traffic, and only the agent that was told STOP
      const internal = { ...sms(NY), toAgentId: b.id }
      expect((yield* Effect.flip(admitInto(a.cell, internal)))._tag).toBe("OptedOut")
      yield* admitInto(b.cell, sms(NY))
      expect(yield* guard.handleInboundKeyword(a.id, NY, "sms", "please stop texting me")).toEqual(Option.none())
      const help = yield* guard.handleInboundKeyword(a.id, NY, "sms", "HELP")
      expect(Option.getOrThrow(help)).toMatchObject({ action: "help", reply: expect.stringMatching(/^Agent stop: .*STOP/) })
      const start = yield* guard.handleInboundKeyword(a.id, NY, "sms", "start")
      expect(Option.getOrThrow(start).action).toBe("opt_in")
      yield* admitInto(a.cell, sms(NY))
      // email opt-outs are keyed case-insensitively
      yield* guard.handleInboundKeyword(a.id, "Someone@Example.com", "email", "UNSUBSCRIBE")
      expect((yield* Effect.flip(admitInto(a.cell, email("someone@example.COM"))))._tag).toBe("OptedOut")
      yield* guard.handleInboundKeyword(a.id, NY, "sms", "STOPALL")
      yield* guard.handleInboundKeyword(a.id, NY, "sms", "yes")
      yield* admitInto(a.cell, sms(NY))
    }))

  it.effect("DNC: imported numbers (E.164, 10-digit, FTC area-code format) are refused on phone channels, not on email or to our agents", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const compliance = yield* Compliance
      const a = yield* fresh("dnc")
      const b = yield* fresh("peer")
      const text = "+12125550199\n2125550198\r\n212,5550197\n# a comment\n\nnot a number\n(415) 555-0196\n+12125550199\n"
      const first = yield* compliance.importDnc(text, "ftc-test")
      expect(first).toEqual({ imported: 4, alreadyListed: 0, invalid: 1, invalidLines: [6] })
      expect(yield* compliance.importDnc(text, "ftc-test")).toMatchObject({ imported: 0, alreadyListed: 4 })
      for (const n of ["+12125550199", "+12125550198", "+12125550197", "+14155550196"]) {
        expect(yield* Effect.flip(admitInto(a.cell, sms(n)))).toMatchObject({ _tag: "DncListed" })
      }
      expect((yield* Effect.flip(admitInto(a.cell, call("+12125550197"))))._tag).toBe("DncListed")
      yield* admitInto(a.cell, { ...sms("+12125550199"), toAgentId: b.id })
      yield* admitInto(a.cell, email())
      expect(yield* compliance.removeDnc("2125550199")).toBe(1)
      yield* admitInto(a.cell, sms("+12125550199"))
    }))

  it.effect("refusal order: opt-out, DNC, quiet hours, contact cap, rate windows, spending caps; only limit refusals are counted", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const guard = yield* AgentGuard
      const compliance = yield* Compliance
      const dashboard = yield* UsageDashboard
      const a = yield* fresh("order")
      yield* dashboard.setLimits(a.id, { maxActionsPerMinute: 1, maxSpendPerDay: 0.35, maxCallsPerDayToSameNumber: 1 })
      yield* Ref.set(a.cell, yield* guard.reloadLimits(yield* Ref.get(a.cell)))
      yield* TestClock.setTime(Date.UTC(2026, 0, 15, 3, 0)) // 22:00 in New York, 19:00 in California
      yield* guard.handleInboundKeyword(a.id, "+12125550161", "sms", "STOP")
      yield* compliance.importDnc("+12125550161\n+12125550162\n+14155550162", "internal")
      yield* admitInto(a.cell, call("+14155550160")) // $0.30: the minute slot and the one call to that number
      expect((yield* Effect.flip(admitInto(a.cell, sms("+12125550161"))))._tag).toBe("OptedOut")
      expect((yield* Effect.flip(admitInto(a.cell, sms("+12125550162"))))._tag).toBe("DncListed")
      expect((yield* Effect.flip(admitInto(a.cell, sms("+14155550162"))))._tag).toBe("DncListed")
      expect((yield* Effect.flip(admitInto(a.cell, sms("+12125550163"))))._tag).toBe("QuietHours")
      expect((yield* Effect.flip(admitInto(a.cell, call("+14155550160"))))._tag).toBe("ContactLimit")
      expect(yield* Effect.flip(admitInto(a.cell, sms("+14155550163")))).toMatchObject({ reason: "per_minute" })
      yield* TestClock.adjust("1 minute")
      expect(yield* Effect.flip(admitInto(a.cell, call("+14155550164", 1)))).toMatchObject({ reason: "spend_per_day" })
      const hits = yield* sql`SELECT limit_name, hits FROM limit_hits WHERE agent_id = ${a.id} ORDER BY limit_name`
      expect(hits.map((h) => [h["limitName"], Number(h["hits"])])).toEqual([
        ["contact_per_day", 1],
        ["per_minute", 1],
        ["spend_per_day", 1]
      ])
      expect((yield* Metric.value(Metric.tagged(rateLimitHits, "agent", a.id))).count).toBe(2)
    }))

  it.effect("agent-to-agent actions are exempt from DNC and quiet hours, never from rate limits", () =>
    Effect.gen(function*() {
      const compliance = yield* Compliance
      const a = yield* fresh("a2a")
      const peer = yield* fresh("peer")
      yield* compliance.importDnc("+12125550111", "internal")
      yield* TestClock.setTime(Date.UTC(2026, 0, 15, 3, 30)) // 22:30 in New York
      const toPeer: OutboundAction = { ...sms("+12125550111"), toAgentId: peer.id }
      for (let i = 0; i < 10; i++) yield* admitInto(a.cell, toPeer)
      expect(yield* Effect.flip(admitInto(a.cell, toPeer))).toMatchObject({ _tag: "RateLimited", reason: "per_minute" })
      expect((yield* Effect.flip(admitInto(a.cell, { ...toPeer, toAgentId: null })))._tag).toBe("DncListed")
    }))

  it.effect("spending caps refuse as RateLimited (spend_per_day / spend_per_month); breaches are counted, metered and audited once a minute", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const sql = yield* SqlClient.SqlClient
      const dashboard = yield* UsageDashboard
      const guard = yield* AgentGuard
      const a = yield* fresh("cap")
      yield* dashboard.setLimits(a.id, { maxSpendPerDay: 0.02, maxSpendPerMonth: 0.04, maxActionsPerMinute: 100 })
      yield* Ref.set(a.cell, yield* guard.reloadLimits(yield* Ref.get(a.cell)))
      // 2 segments of 0.0079 each: 0.0158, then one more segment fits (0.0237 > 0.02 does not)
      const long = "x".repeat(200)
      const first = yield* admitInto(a.cell, sms(NY, long))
      expect(first.reservedCost).toBeCloseTo(0.0158, 6)
      const refused = yield* Effect.flip(admitInto(a.cell, sms(NY, long)))
      expect(refused).toMatchObject({ _tag: "RateLimited", reason: "spend_per_day", retryAfterSeconds: 7 * 3600 })
      // one more segment: 0.0158 + 0.0079 = 0.0237 > 0.02
      expect(yield* Effect.flip(admitInto(a.cell, sms(NY)))).toMatchObject({ reason: "spend_per_day" })
      yield* admitInto(a.cell, email()) // 0.001: 0.0168 <= 0.02
      yield* settleInto(a.cell, first, true)
      // next day: the day cap is fresh, the month cap (0.04) is not: 0.0158 settled + 0.001 pending
      yield* TestClock.setTime(Date.UTC(2026, 0, 16, 15, 0))
      const state = yield* Ref.get(a.cell)
      expect(guard.usage(state, Date.UTC(2026, 0, 16, 15, 0))).toMatchObject({ spentToday: 0, spentThisMonth: 0.0158 })
      yield* admitInto(a.cell, sms(NY, long)) // 0.0326 <= 0.04
      const month = yield* Effect.flip(admitInto(a.cell, sms(NY, long)))
      expect(month).toMatchObject({ reason: "spend_per_month" })

      const hits = yield* Metric.value(Metric.tagged(rateLimitHits, "agent", a.id))
      expect(hits.count).toBe(3)
      const audits = yield* sql`SELECT details FROM audit_log WHERE event_type = 'rate_limit_breached' AND target = ${a.id}`
      // spend_per_day twice within a minute on day 1 (one audit), spend_per_month on day 2
      expect(audits).toHaveLength(2)
      const view = yield* dashboard.dashboard({ agentId: a.id, period: "month" })
      expect(view.agents[0]?.rateLimitHits).toBe(3)
    }))
}

const options = { timeout: 90_000 }
layer(GuardTest(pglite), options)("guard on PGlite", suite)
layer(GuardTest(postgres(inject("pgUrl"))), options)("guard on PostgreSQL", suite)
