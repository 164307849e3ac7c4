import * as SqlClient from "@effect/sql/SqlClient"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { createHash, randomBytes } from "node:crypto"
import { AgentId } from "../../schema/Ids.ts"
import { AppConfig } from "../config/AppConfig.ts"

/** Agent tokens: `aoc_` + 32 random bytes (256 bits), base64url. */
export const TOKEN_PREFIX = "aoc_"

export const hashToken = (token: string): string => createHash("sha256").update(token).digest("hex")

export interface IssuedToken {
  readonly token: Redacted.Redacted<string>
  readonly tokenId: string
  readonly expiresAt: Date
}

const DateLike = Schema.Union(Schema.DateFromSelf, Schema.DateFromString)
const TokenRow = Schema.Struct({
  id: Schema.String,
  agentId: AgentId,
  expiresAt: Schema.NullOr(DateLike),
  revokedAt: Schema.NullOr(DateLike)
})

interface CachedToken {
  readonly tokenId: string
  readonly agentId: AgentId
  readonly expiresAt: number
  readonly cachedAt: number
}

/** How long a verified token may be served from memory before the DB is asked again. */
const CACHE_TTL_MS = 30_000
const CACHE_MAX = 10_000

/**
 * Issues, verifies, rotates and revokes agent tokens. Only SHA-256 hashes are
 * stored (tokens carry 256 bits of entropy, so a slow password hash buys
 * nothing); verification is one hash plus, at most every 30 s per token, one
 * indexed lookup. Revocations made through this process take effect at once.
 */
export class AgentTokens extends Effect.Service<AgentTokens>()("app/security/AgentTokens", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const config = yield* AppConfig
    const decode = Schema.decodeUnknown(Schema.Array(TokenRow))
    const ttlMs = config.tokenTtlDays * 86_400_000
    const cache = new Map<string, CachedToken>()

    const dropAgent = (agentId: AgentId) => {
      for (const [hash, entry] of cache) if (entry.agentId === agentId) cache.delete(hash)
    }

    const issue = (agentId: AgentId, createdBy: string) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const token = TOKEN_PREFIX + randomBytes(32).toString("base64url")
        const expiresAt = new Date(now + ttlMs)
        const rows = yield* sql`INSERT INTO agent_tokens ${
          sql.insert({ agentId, tokenHash: hashToken(token), expiresAt, createdBy, scope: "agent" })
        } RETURNING id`
        return { token: Redacted.make(token), tokenId: String(rows[0]?.["id"]), expiresAt } satisfies IssuedToken
      }).pipe(Effect.withSpan("AgentTokens.issue"))

    /** Revokes every live token of the agent; returns how many. */
    const revokeAll = (agentId: AgentId) =>
      Effect.gen(function*() {
        const rows = yield* sql`UPDATE agent_tokens SET revoked_at = now()
          WHERE agent_id = ${agentId} AND revoked_at IS NULL RETURNING id`
        dropAgent(agentId)
        return rows.length
      }).pipe(Effect.withSpan("AgentTokens.revokeAll"))

    /** Resolves a presented token to its agent, or None (unknown, revoked or expired). */
    const verify = (token: Redacted.Redacted<string>) =>
      Effect.gen(function*() {
        const raw = Redacted.value(token)
        if (!raw.startsWith(TOKEN_PREFIX) || raw.length > 100) return Option.none<AgentId>()
        const hash = hashToken(raw)
        const now = yield* Clock.currentTimeMillis
        const hit = cache.get(hash)
        if (hit !== undefined && now - hit.cachedAt < CACHE_TTL_MS) {
          return hit.expiresAt > now ? Option.some(hit.agentId) : Option.none<AgentId>()
        }
        const rows = yield* sql`SELECT id, agent_id, expires_at, revoked_at FROM agent_tokens WHERE token_hash = ${hash}`
          .pipe(Effect.flatMap(decode))
        const row = rows[0]
        if (row === undefined || row.revokedAt !== null) {
          cache.delete(hash)
          return Option.none<AgentId>()
        }
        const expiresAt = row.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY
        if (cache.size >= CACHE_MAX) cache.clear()
        cache.set(hash, { tokenId: row.id, agentId: row.agentId, expiresAt, cachedAt: now })
        if (expiresAt <= now) return Option.none<AgentId>()
        yield* sql`UPDATE agent_tokens SET last_used_at = now() WHERE id = ${row.id}`
        return Option.some(row.agentId)
      }).pipe(Effect.withSpan("AgentTokens.verify"))

    return {
      issue,
      revokeAll,
      verify,
      /**
       * Drops the agent's cached verifications. Call after a transaction that revoked its tokens
       * commits: a verify on another connection may have cached the token while it was open.
       */
      forget: (agentId: AgentId) => Effect.sync(() => dropAgent(agentId)),
      /** Revokes the agent's tokens and issues a fresh one, atomically. */
      rotate: (agentId: AgentId, createdBy: string) =>
        Effect.gen(function*() {
          const revoked = yield* revokeAll(agentId)
          const issued = yield* issue(agentId, createdBy)
          return { ...issued, revoked }
        }).pipe(
          sql.withTransaction,
          // a verify that ran while the transaction was open may have cached the old token
          Effect.ensuring(Effect.sync(() => dropAgent(agentId))),
          Effect.withSpan("AgentTokens.rotate")
        )
    } as const
  })
}) {}
