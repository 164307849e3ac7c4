/**
 * Pool, tokens, lockout and the audit chain, checked identically on embedded
 * PGlite and on a real PostgreSQL (where concurrency is real: a pool of connections).
 */
import { expect, layer, type Vitest } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import { inject } from "vitest"
import { AgentId } from "../../schema/Ids.ts"
import { TEST_MASTER_TOKEN, TestDomain } from "../../layers/Test.ts"
import { AgentPool } from "../../src/agents/AgentPool.ts"
import { AgentRuntime } from "../../src/agents/AgentRuntime.ts"
import { Provision } from "../../src/agents/Commands.ts"
import { AuditLog } from "../../src/observability/AuditLog.ts"
import { AgentTokens } from "../../src/security/AgentTokens.ts"
import { Authenticator } from "../../src/security/Authenticator.ts"
import { freshPgDatabase } from "../support/postgres.ts"

const env = { INITIAL_AGENT_POOL_SIZE: "5", TOKEN_TTL_DAYS: "30", AUTH_LOCKOUT_THRESHOLD: "3" }

let seq = 0
const newAgent = (label: string) =>
  Effect.gen(function*() {
    const id = AgentId.make(`${label}-${++seq}`)
    const out = yield* (yield* AgentRuntime).send(
      id,
      new Provision({
        displayName: label,
        greeting: "hi",
        systemPrompt: "p",
        country: "US",
        capabilities: { phone: false, whatsapp: false, email: true, voiceAi: false },
        issueToken: true,
        actor: "master"
      })
    )
    return { id, token: out.securityToken ?? "" }
  })

const suite = (it: Vitest.MethodsNonLive<Layer.Layer.Success<ReturnType<typeof TestDomain>>, false>) => {
  it.effect("20 concurrent slot acquisitions on a 5-slot pool: exactly the free slots are taken", () =>
    Effect.gen(function*() {
      const pool = yield* AgentPool
      const before = yield* pool.status
      const free = before.maxAgents - before.activeAgents
      const results = yield* Effect.all(Array.from({ length: 20 }, () => Effect.either(pool.acquire)), {
        concurrency: "unbounded"
      })
      expect(results.filter((r) => r._tag === "Right")).toHaveLength(free)
      expect(results.filter((r) => r._tag === "Left").every((r) => r._tag === "Left" && r.left._tag === "PoolExhausted"))
        .toBe(true)
      expect(yield* pool.status).toEqual({ maxAgents: before.maxAgents, activeAgents: before.maxAgents })
      for (let i = 0; i < free; i++) yield* pool.release
      const expanded = yield* pool.expand(2)
      expect(expanded.maxAgents).toBe(before.maxAgents + 2)
    }))

  it.effect("tokens: only hashes stored, bound to their agent, rotate/revoke kill the old one, expiry honoured", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const tokens = yield* AgentTokens
      const auth = yield* Authenticator
      const a = yield* newAgent("tok")
      const stored = yield* sql`SELECT token_hash FROM agent_tokens WHERE agent_id = ${a.id}`
      expect(stored).toHaveLength(1)
      expect(String(stored[0]?.["tokenHash"])).toMatch(/^[0-9a-f]{64}$/)
      expect(JSON.stringify(stored)).not.toContain(a.token)

      const principal = yield* auth.authenticate(Option.some(Redacted.make(a.token)), "10.0.0.1")
      expect(principal).toEqual({ _tag: "Agent", agentId: a.id })
      const master = yield* auth.authenticate(Option.some(Redacted.make(TEST_MASTER_TOKEN)), "10.0.0.1")
      expect(master._tag).toBe("Master")

      const rotated = yield* tokens.rotate(a.id, "admin")
      expect(rotated.revoked).toBe(1)
      expect(yield* tokens.verify(Redacted.make(a.token))).toEqual(Option.none())
      expect(yield* tokens.verify(rotated.token)).toEqual(Option.some(a.id))

      yield* TestClock.adjust("31 days")
      expect(yield* tokens.verify(rotated.token)).toEqual(Option.none())
      const fresh = yield* tokens.issue(a.id, "admin")
      expect(yield* tokens.verify(fresh.token)).toEqual(Option.some(a.id))
      expect(yield* tokens.revokeAll(a.id)).toBe(2)
      expect(yield* tokens.verify(fresh.token)).toEqual(Option.none())
    }))

  it.effect("repeated unknown tokens lock one address out; other addresses and valid tokens elsewhere are unaffected", () =>
    Effect.gen(function*() {
      const auth = yield* Authenticator
      const good = yield* newAgent("lock")
      const bad = Option.some(Redacted.make("aoc_not-a-real-token"))
      for (let i = 0; i < 3; i++) {
        const e = yield* Effect.flip(auth.authenticate(bad, "192.0.2.9"))
        expect(e._tag).toBe("Unauthorized")
      }
      const locked = yield* Effect.flip(auth.authenticate(Option.some(Redacted.make(good.token)), "192.0.2.9"))
      expect(locked._tag).toBe("LockedOut")
      const elsewhere = yield* auth.authenticate(Option.some(Redacted.make(good.token)), "192.0.2.10")
      expect(elsewhere._tag).toBe("Agent")
      yield* TestClock.adjust("16 minutes")
      expect((yield* auth.authenticate(Option.some(Redacted.make(good.token)), "192.0.2.9"))._tag).toBe("Agent")
    }))

  it.effect("the audit log is a hash chain: intact verifies, a tampered row is found", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const audit = yield* AuditLog
      yield* Effect.all(
        Array.from({ length: 10 }, (_, i) => audit.append({ eventType: "admin_action", actor: "admin", details: { i } })),
        { concurrency: "unbounded" }
      )
      const ok = yield* audit.verify
      expect(ok.ok).toBe(true)
      expect(ok.rows).toBeGreaterThanOrEqual(10)
      // the table refuses updates; an attacker with superuser rights could still disable that
      const refused = yield* Effect.either(sql`UPDATE audit_log SET actor = 'mallory' WHERE id = (SELECT max(id) FROM audit_log)`)
      expect(refused._tag).toBe("Left")
      yield* sql`ALTER TABLE audit_log DISABLE TRIGGER USER`
      yield* sql`UPDATE audit_log SET actor = 'mallory' WHERE id = (SELECT min(id) + 2 FROM audit_log)`
      yield* sql`ALTER TABLE audit_log ENABLE TRIGGER USER`
      const broken = yield* audit.verify
      expect(broken.ok).toBe(false)
      const minId = yield* sql`SELECT min(id) AS m FROM audit_log`
      expect(broken.brokenAt).toBe(Number(minId[0]?.["m"]) + 2)
    }))
}

const options = { timeout: 60_000 }
layer(TestDomain({ env }), options)("PGlite (in memory)", suite)
layer(
  Layer.unwrapEffect(
    Effect.map(Effect.promise(() => freshPgDatabase(inject("pgUrl"))), (url) =>
      TestDomain({ env: { ...env, DATABASE_URL: url } }))
  ),
  options
)("PostgreSQL", suite)
