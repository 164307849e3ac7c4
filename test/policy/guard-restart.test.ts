/**
 * Limits, windows, spend, opt-outs and the DNC list survive a full rebuild of the layers on the
 * same database (a server restart): file-backed PGlite and PostgreSQL.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { inject } from "vitest"
import type { AgentId } from "../../schema/Ids.ts"
import { UsageDashboard } from "../../src/billing/UsageDashboard.ts"
import * as Database from "../../src/db/Database.ts"
import { AgentGuard, type OutboundAction, RESERVATION_TTL_MS } from "../../src/policy/AgentGuard.ts"
import { Compliance } from "../../src/policy/Compliance.ts"
import { freshPgDatabase } from "../support/postgres.ts"
import { GuardTest, makeAgent } from "./guard-layer.ts"

const T0 = Date.UTC(2026, 0, 15, 17, 0, 0)
const NY = "+12125550142"
const sms = (to: string): OutboundAction => ({ kind: "message", channel: "sms", to, toAgentId: null, body: "hello" })
const email: OutboundAction = { kind: "message", channel: "email", to: "a@example.com", toAgentId: null, body: "hi" }

type Db = Parameters<typeof GuardTest>[0]
type Services = Layer.Layer.Success<ReturnType<typeof GuardTest>>

/** Builds the whole guard layer on `db`, runs `effect`, and tears the layer down (a server lifetime). */
const lifetime = <A, E>(db: Db, effect: Effect.Effect<A, E, Services>) =>
  Effect.scoped(Effect.flatMap(Layer.build(GuardTest(db)), (context) => Effect.provide(effect, context)))

const scenario = (db: Db) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(T0)
    const id: AgentId = yield* lifetime(
      db,
      Effect.gen(function*() {
        const guard = yield* AgentGuard
        const dashboard = yield* UsageDashboard
        const compliance = yield* Compliance
        const id = yield* makeAgent("rebuild")
        yield* dashboard.setLimits(id, { maxActionsPerMinute: 3, maxSpendPerDay: 0.03 })
        let state = yield* guard.load(id)
        const admissions = []
        for (let i = 0; i < 3; i++) {
          const [admission, next] = yield* guard.admit(state, sms(NY))
          admissions.push(admission)
          state = next
        }
        for (const admission of admissions.slice(0, 2)) {
          state = yield* guard.settle(state, admission, {
            ok: true,
            provider: "sandbox",
            externalId: null,
            actualCost: admission.reservedCost,
            channel: "sms",
            actionType: "send_sms",
            metadata: {}
          })
        }
        // the third stays reserved: the server stops before it is settled
        expect((yield* Effect.flip(guard.admit(state, sms(NY))))._tag).toBe("RateLimited")
        yield* guard.handleInboundKeyword(id, "+12125550143", "sms", "STOP")
        yield* compliance.importDnc("2125550144", "ftc-test")
        return id
      })
    )

    yield* lifetime(
      db,
      Effect.gen(function*() {
        const guard = yield* AgentGuard
        const cell = yield* Ref.make(yield* guard.load(id))
        const admit = (action: OutboundAction) =>
          Effect.flatMap(Ref.get(cell), (s) => guard.admit(s, action)).pipe(
            Effect.tap(([, next]) => Ref.set(cell, next)),
            Effect.map(([admission]) => admission)
          )
        const state = yield* Ref.get(cell)
        expect(state.limits).toMatchObject({ maxActionsPerMinute: 3, maxSpendPerDay: 0.03 })
        expect(state.actions).toHaveLength(3)
        expect(state.spend.settledDay).toBe(15_800)
        expect(state.spend.reserved).toBe(7_900)
        expect(yield* Effect.flip(admit(email))).toMatchObject({ reason: "per_minute", retryAfterSeconds: 60 })
        yield* TestClock.setTime(T0 + 60_000)
        // 0.0158 settled + 0.0079 still reserved: one more SMS (0.0079) is over the 0.03 day cap
        expect(yield* Effect.flip(admit(sms(NY)))).toMatchObject({ reason: "spend_per_day" })
        expect((yield* Effect.flip(admit(sms("+12125550143"))))._tag).toBe("OptedOut")
        expect((yield* Effect.flip(admit(sms("+12125550144"))))._tag).toBe("DncListed")
        // the dead server's reservation expires after the TTL: the SMS fits now
        yield* TestClock.setTime(T0 + 60_000 + RESERVATION_TTL_MS)
        yield* admit(sms(NY))
      })
    )
  })

describe("guard state across a full layer rebuild", () => {
  it.effect("file-backed PGlite", () =>
    Effect.gen(function*() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "guard-pglite-"))
      yield* scenario(Database.layerPglite(dir)).pipe(
        Effect.ensuring(Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
      )
    }), { timeout: 120_000 })

  it.effect("PostgreSQL", () =>
    Effect.gen(function*() {
      const url = yield* Effect.promise(() => freshPgDatabase(inject("pgUrl")))
      yield* scenario(Database.layerPg(Redacted.make(url)))
    }), { timeout: 120_000 })
})
