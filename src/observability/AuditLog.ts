import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { createHash } from "node:crypto"

/** Event types written to the audit trail. Details never hold PII. */
export type AuditEventType =
  | "token_issued"
  | "token_rotated"
  | "token_revoked"
  | "agent_provisioned"
  | "agent_deprovisioned"
  | "pool_expanded"
  | "auth_lockout"
  | "admin_action"
  | "rate_limit_breached"
  | "content_blocked"
  | "webhook_rejected"
  | "contact_erased"
  | "agent_suspended"
  | "agent_unsuspended"
  | "alert_acknowledged"
  | "call_transferred"

export interface AuditEvent {
  readonly eventType: AuditEventType
  readonly actor: string
  readonly target?: string | undefined
  readonly details?: Readonly<Record<string, string | number | boolean | null>> | undefined
}

export const GENESIS_HASH = "0".repeat(64)

const canonical = (value: unknown): string => {
  if (value === null || typeof value !== "object") return JSON.stringify(value)
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`
}

/** SHA-256 of the previous hash and the row's canonical content. */
export const rowHash = (prevHash: string, row: {
  readonly timestamp: string
  readonly eventType: string
  readonly actor: string
  readonly target: string | null
  readonly details: unknown
}): string =>
  createHash("sha256").update(prevHash).update("\n").update(canonical(row)).digest("hex")

const DateLike = Schema.Union(Schema.DateFromSelf, Schema.DateFromString)
const AuditRow = Schema.Struct({
  id: Schema.Union(Schema.Number, Schema.NumberFromString),
  timestamp: DateLike,
  eventType: Schema.String,
  actor: Schema.String,
  target: Schema.NullOr(Schema.String),
  details: Schema.Unknown,
  prevHash: Schema.String,
  rowHash: Schema.String
})

export interface AuditVerification {
  readonly ok: boolean
  readonly rows: number
  /** Id of the first row whose hash or link does not match, if any. */
  readonly brokenAt: number | null
}

/**
 * Append-only audit trail with a SHA-256 hash chain. Appends are serialized by
 * a transaction-scoped advisory lock (so several server instances on one
 * PostgreSQL keep a single chain). There is deliberately no in-process lock: an
 * append inside a caller's transaction must not wait on a fiber that waits for
 * that transaction's connection.
 */
export class AuditLog extends Effect.Service<AuditLog>()("app/observability/AuditLog", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const decode = Schema.decodeUnknown(Schema.Array(AuditRow))

    const append = (event: AuditEvent) =>
      Effect.gen(function*() {
        yield* sql`SELECT pg_advisory_xact_lock(727274)`
        const last = yield* sql`SELECT row_hash FROM audit_log ORDER BY id DESC LIMIT 1`
        const prevHash = (last[0]?.["rowHash"] as string | undefined) ?? GENESIS_HASH
        const timestamp = new Date().toISOString()
        const row = {
          timestamp,
          eventType: event.eventType,
          actor: event.actor,
          target: event.target ?? null,
          details: event.details ?? {}
        }
        const hash = rowHash(prevHash, row)
        yield* sql`INSERT INTO audit_log ${
          sql.insert({
            timestamp,
            eventType: row.eventType,
            actor: row.actor,
            target: row.target,
            details: JSON.stringify(row.details),
            prevHash,
            rowHash: hash
          })
        }`
      }).pipe(sql.withTransaction, Effect.orDie, Effect.withSpan("AuditLog.append"))

    /** Walks the whole chain and reports the first row that does not match. */
    const verify = Effect.gen(function*() {
      const rows = yield* sql`SELECT * FROM audit_log ORDER BY id`.pipe(Effect.flatMap(decode))
      let prev = GENESIS_HASH
      for (const r of rows) {
        const details = typeof r.details === "string" ? JSON.parse(r.details) as unknown : r.details
        const expected = rowHash(prev, {
          timestamp: r.timestamp.toISOString(),
          eventType: r.eventType,
          actor: r.actor,
          target: r.target,
          details
        })
        if (r.prevHash !== prev || r.rowHash !== expected) {
          return { ok: false, rows: rows.length, brokenAt: r.id } satisfies AuditVerification
        }
        prev = r.rowHash
      }
      return { ok: true, rows: rows.length, brokenAt: null } satisfies AuditVerification
    }).pipe(Effect.orDie, Effect.withSpan("AuditLog.verify"))

    return { append, verify } as const
  })
}) {}
