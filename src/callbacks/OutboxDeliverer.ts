/**
 * Durable delivery of callbacks to the orchestrator (`AGENTOS_CALLBACK_URL`).
 *
 * An accepted inbound message writes its callback into `webhook_outbox` in the
 * same transaction as its `messages` row (`enqueue`), encrypted (it holds the
 * body). This deliverer then POSTs it, signed per Standard Webhooks, until the
 * orchestrator answers 2xx:
 *
 * - Claim with a lease: one UPDATE sets `lease_owner` (this process's random
 *   id) and `lease_until` (now + 60 s) on up to `BATCH_SIZE` due, unleased rows
 *   (`FOR UPDATE SKIP LOCKED`, so several instances never claim the same row)
 *   and returns them. The lease is kept apart from the retry time
 *   (`next_attempt_at`). No transaction stays open across the HTTP calls
 *   (PGlite has a single connection). The 10 s request timeout is well inside
 *   the lease, so two attempts of one row never overlap.
 * - The outcomes of a whole batch are written back in ONE statement (a JSON
 *   list of `{id, delivered, next attempt, error}` joined to the table), which
 *   also clears the lease: per batch the deliverer needs two turns of the
 *   database (claim, record), not one per row, and so keeps a fair share of
 *   PGlite's single connection under inbound load.
 * - 2xx: `delivered_at` set, payload replaced by `{}` (nothing personal is kept).
 *   Anything else: `attempts + 1`, `next_attempt_at` = now + backoff
 *   (exponential from 1 s, ×0.75–1.25 jitter, capped at 10 min), `last_error` =
 *   the HTTP status or the error class (never a body or an address).
 * - Dead processes: each deliverer announces itself in `webhook_outbox_workers`
 *   (`alive_until`, refreshed while it runs). At start, and then from time to
 *   time, leases whose owner is not alive are freed; on PGlite (one process per
 *   data directory) every lease left at start is a dead process's and is freed
 *   at once. After a `kill -9` a restart therefore delivers at once (PGlite) or
 *   within `WORKER_TTL` (PostgreSQL, other instances alive), not after the
 *   60 s lease. An interrupted attempt (shutdown) gives its lease back too.
 * - `webhook-id` is the row's id (`msg_<messageId>`), the same on every attempt:
 *   the receiver's idempotency key, so it processes each callback at most once.
 *   `webhook-timestamp` is the time of the attempt (receivers reject old ones).
 *
 * Timestamps come from the Effect `Clock` (not the database's `now()`), so the
 * schedule is testable with `TestClock`. The background loop
 * (`OutboxDelivererLive`) wakes on `wake` (a new row) and polls every second,
 * which covers rows left by a restart or written by another instance.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"
import type { CallbackPayload } from "../../schema/Webhooks.ts"
import { randomUUID } from "node:crypto"
import { AppConfig } from "../config/AppConfig.ts"
import { DatabaseInfo } from "../db/Database.ts"
import * as Rows from "../db/Rows.ts"
import { Cipher } from "../security/Cipher.ts"
import { sign } from "../webhooks/StandardWebhooks.ts"

/** Rows claimed per sweep. */
export const BATCH_SIZE = 64
/** How long a claim keeps a row from other workers. */
export const LEASE = Duration.seconds(60)
/** Timeout of one POST to the orchestrator. */
export const REQUEST_TIMEOUT = Duration.seconds(10)
/** How often the loop looks for due rows when nothing woke it. */
export const POLL_INTERVAL = Duration.seconds(1)
/** A deliverer that has not refreshed its `alive_until` for this long is dead: its leases are freed. */
export const WORKER_TTL = Duration.seconds(15)
/** Concurrent POSTs within one batch. */
const CONCURRENCY = 16

const BASE_DELAY_MS = 1_000
export const MAX_DELAY_MS = 10 * 60 * 1_000

/**
 * Delay before the next attempt after `attempts` failed ones (1-based):
 * 1 s, 2 s, 4 s, … capped at 10 min, scaled by 0.75–1.25 (`jitter` in [0, 1)).
 */
export const backoffMillis = (attempts: number, jitter: number): number => {
  const exponent = Math.min(Math.max(attempts - 1, 0), 30)
  const base = Math.min(BASE_DELAY_MS * 2 ** exponent, MAX_DELAY_MS)
  return Math.min(Math.round(base * (0.75 + 0.5 * jitter)), MAX_DELAY_MS)
}

/** `{"sealed":"v1:…"}` as stored in the JSONB column (a string from drivers that don't parse JSON). */
const Sealed = Schema.Struct({ sealed: Schema.String })

const ClaimedRow = Schema.Struct({
  id: Schema.String,
  agentId: Schema.NullOr(Schema.String),
  webhookId: Schema.String,
  payload: Schema.Unknown,
  attempts: Rows.Num
})
type ClaimedRow = typeof ClaimedRow.Type

/** What one attempt came to, as written back for the whole batch. */
interface Outcome {
  readonly id: string
  /** set when delivered (2xx) */
  readonly delivered_at: string | null
  /** set when failed: the next attempt */
  readonly next_at: string | null
  readonly err: string | null
}

/** What went wrong with one attempt, for `last_error`: never a body, URL or address. */
const describeFailure = (e: unknown): string => {
  if (typeof e === "object" && e !== null && "_tag" in e) {
    const tag = String(e._tag)
    if (tag === "TimeoutException") return "timeout"
    if ("reason" in e && typeof e.reason === "string") return `${tag}:${e.reason}`
    return tag
  }
  return "unknown"
}

export class OutboxDeliverer extends Effect.Service<OutboxDeliverer>()("app/callbacks/OutboxDeliverer", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const cipher = yield* Cipher
    const config = yield* AppConfig
    const http = yield* HttpClient.HttpClient
    const database = yield* Effect.serviceOption(DatabaseInfo)
    const signal = yield* Queue.sliding<void>(1)
    const decodeSealed = Schema.decodeUnknownOption(Rows.JsonColumn(Sealed))
    /** This process's lease owner id. */
    const owner = `w_${randomUUID()}`

    /**
     * Writes a callback for later delivery. Run it inside the transaction that
     * records what it reports; call `wake` once that transaction committed.
     */
    const enqueue = Effect.fn("OutboxDeliverer.enqueue")(function*(entry: {
      readonly agentId: string
      readonly webhookId: string
      readonly payload: CallbackPayload
    }) {
      yield* enqueueAll([entry])
    })

    /** Writes several callbacks in one statement (see `enqueue`). */
    const enqueueAll = (entries: ReadonlyArray<{
      readonly agentId: string
      readonly webhookId: string
      readonly payload: CallbackPayload
    }>) =>
      Effect.gen(function*() {
        if (entries.length === 0) return
        const now = new Date(yield* Clock.currentTimeMillis)
        yield* sql`INSERT INTO webhook_outbox ${
          sql.insert(entries.map((entry) => ({
            agentId: entry.agentId,
            webhookId: entry.webhookId,
            payload: JSON.stringify({ sealed: cipher.encrypt("callback-outbox", JSON.stringify(entry.payload)) }),
            nextAttemptAt: now
          })))
        } ON CONFLICT (webhook_id) DO NOTHING`
      })

    /** Tells the loop that a row is waiting (cheap; coalesces). */
    const wake = Queue.offer(signal, undefined).pipe(Effect.asVoid)

    const claimRows = SqlSchema.findAll({
      Request: Schema.Struct({ now: Schema.DateFromSelf, leaseUntil: Schema.DateFromSelf }),
      Result: ClaimedRow,
      execute: ({ leaseUntil, now }) =>
        sql`UPDATE webhook_outbox SET lease_owner = ${owner}, lease_until = ${leaseUntil}
          WHERE id IN (
            SELECT id FROM webhook_outbox
            WHERE delivered_at IS NULL AND next_attempt_at <= ${now}
              AND (lease_until IS NULL OR lease_until <= ${now})
            ORDER BY created_at LIMIT ${BATCH_SIZE}
            FOR UPDATE SKIP LOCKED
          )
          RETURNING id, agent_id, webhook_id, payload, attempts`
    })

    const claim = Effect.flatMap(Clock.currentTimeMillis, (now) =>
      claimRows({ now: new Date(now), leaseUntil: new Date(now + Duration.toMillis(LEASE)) }))

    /** Writes the outcomes of a batch and frees its leases: one statement. */
    const record = SqlSchema.void({
      Request: Schema.Array(Schema.Struct({
        id: Schema.String,
        delivered_at: Schema.NullOr(Schema.String),
        next_at: Schema.NullOr(Schema.String),
        err: Schema.NullOr(Schema.String)
      })),
      execute: (outcomes) =>
        sql`UPDATE webhook_outbox AS o SET
              attempts = o.attempts + 1,
              delivered_at = v.delivered_at,
              payload = CASE WHEN v.delivered_at IS NULL THEN o.payload ELSE '{}'::jsonb END,
              next_attempt_at = COALESCE(v.next_at, o.next_attempt_at),
              last_error = v.err,
              lease_owner = NULL, lease_until = NULL
            FROM jsonb_to_recordset(${JSON.stringify(outcomes)}::jsonb)
              AS v(id uuid, delivered_at timestamptz, next_at timestamptz, err text)
            WHERE o.id = v.id AND o.lease_owner = ${owner} AND o.delivered_at IS NULL`.withoutTransform
    })

    /** An interrupted attempt (shutdown) hands its lease back, so a restart retries at once. */
    const releaseLeases = (rows: ReadonlyArray<ClaimedRow>) =>
      sql`UPDATE webhook_outbox SET lease_owner = NULL, lease_until = NULL
          WHERE ${sql.in("id", rows.map((r) => r.id))} AND lease_owner = ${owner}`.pipe(Effect.ignore)

    /** Announces this deliverer as alive until now + WORKER_TTL. */
    const heartbeat = Effect.flatMap(Clock.currentTimeMillis, (now) =>
      sql`INSERT INTO webhook_outbox_workers ${sql.insert({ owner, aliveUntil: new Date(now + Duration.toMillis(WORKER_TTL)) })}
          ON CONFLICT (owner) DO UPDATE SET alive_until = EXCLUDED.alive_until`)

    /**
     * Frees the leases of deliverers that are not alive (a `kill -9`, a crash) and forgets those
     * deliverers. `allButMine`: every lease not held by this process (PGlite at start: no other
     * process can be running on its data directory). Returns how many leases were freed.
     */
    const reapLeases = (allButMine: boolean) =>
      Effect.gen(function*() {
        const now = new Date(yield* Clock.currentTimeMillis)
        const freed = allButMine
          ? yield* sql`UPDATE webhook_outbox SET lease_owner = NULL, lease_until = NULL
              WHERE lease_owner IS NOT NULL AND lease_owner <> ${owner} RETURNING id`
          : yield* sql`UPDATE webhook_outbox SET lease_owner = NULL, lease_until = NULL
              WHERE lease_owner IS NOT NULL AND lease_owner <> ${owner} AND lease_owner NOT IN (
                SELECT owner FROM webhook_outbox_workers WHERE alive_until > ${now}
              ) RETURNING id`
        yield* sql`DELETE FROM webhook_outbox_workers WHERE alive_until <= ${now} AND owner <> ${owner}`
        if (freed.length > 0) {
          yield* Effect.logInfo("callback outbox: freed the leases of a stopped deliverer").pipe(
            Effect.annotateLogs({ leases: freed.length })
          )
        }
        return freed.length
      }).pipe(Effect.orDie)

    /** What one attempt of `row` came to (the POST, never the database). */
    const attempt = (callbackUrl: string) => (row: ClaimedRow): Effect.Effect<Outcome> =>
      Effect.gen(function*() {
        const failed = (error: string) =>
          Effect.gen(function*() {
            const now = yield* Clock.currentTimeMillis
            const jitter = yield* Random.next
            const attempts = row.attempts + 1
            yield* Effect.logWarning("callback delivery failed").pipe(
              Effect.annotateLogs({ agentId: row.agentId ?? "", webhookId: row.webhookId, attempts, error })
            )
            return {
              id: row.id,
              delivered_at: null,
              next_at: new Date(now + backoffMillis(attempts, jitter)).toISOString(),
              err: error
            }
          })
        const body = Option.flatMap(decodeSealed(row.payload), ({ sealed }) =>
          Option.fromNullable(cipher.decrypt("callback-outbox", sealed)))
        if (Option.isNone(body)) return yield* failed("undecryptable")
        const url = callbackUrl.replaceAll("{agentId}", encodeURIComponent(row.agentId ?? ""))
        const now = yield* Clock.currentTimeMillis
        const headers = sign({
          secret: config.callbackSigningSecret,
          id: row.webhookId,
          timestamp: now / 1000,
          body: body.value
        })
        const outcome = yield* http.execute(
          HttpClientRequest.post(url).pipe(
            HttpClientRequest.setHeaders(headers),
            HttpClientRequest.bodyText(body.value, "application/json")
          )
        ).pipe(
          Effect.map((response) => response.status),
          Effect.scoped,
          Effect.timeout(REQUEST_TIMEOUT),
          Effect.either
        )
        if (Either.isRight(outcome) && outcome.right >= 200 && outcome.right < 300) {
          const at = yield* Clock.currentTimeMillis
          return { id: row.id, delivered_at: new Date(at).toISOString(), next_at: null, err: null }
        }
        return yield* failed(Either.isRight(outcome) ? `http_${outcome.right}` : describeFailure(outcome.left))
      })

    /**
     * Claims the due rows (at most one batch), attempts each once and records the outcomes.
     * Returns how many were claimed. Without AGENTOS_CALLBACK_URL it claims nothing.
     */
    const deliverDue: Effect.Effect<number> = Option.match(config.callbackUrl, {
      onNone: () => Effect.succeed(0),
      onSome: (callbackUrl) =>
        Effect.uninterruptibleMask((restore) =>
          Effect.gen(function*() {
            const rows = yield* claim
            if (rows.length === 0) return 0
            const outcomes = yield* restore(
              Effect.forEach(rows, attempt(callbackUrl), { concurrency: CONCURRENCY })
            ).pipe(Effect.onInterrupt(() => releaseLeases(rows)))
            yield* record(outcomes)
            return rows.length
          })
        ).pipe(Effect.orDie, Effect.withSpan("OutboxDeliverer.deliverDue"))
    })

    /** Rows still waiting for delivery (for readiness checks and tests). */
    const pending = SqlSchema.single({
      Request: Schema.Void,
      Result: Rows.CountRow,
      execute: () => sql`SELECT count(*) AS n FROM webhook_outbox WHERE delivered_at IS NULL`
    })(undefined).pipe(Effect.map((r) => r.n), Effect.orDie)

    /**
     * Announces this deliverer and frees dead deliverers' leases (all foreign leases on PGlite).
     * The loop runs it at start; tests call it to simulate a restart.
     */
    const recoverLeases = Effect.zipRight(
      Effect.orDie(heartbeat),
      reapLeases(Option.exists(database, (d) => d.kind === "pglite"))
    )

    const HOUSEKEEPING_EVERY = Math.max(1, Math.floor(Duration.toMillis(WORKER_TTL) / 3 / Duration.toMillis(POLL_INTERVAL)))

    /** The background loop: deliver, then wait for a wake-up or the poll interval. Runs until interrupted. */
    const run: Effect.Effect<void> = Option.isNone(config.callbackUrl)
      ? Effect.logWarning("AGENTOS_CALLBACK_URL is not set: inbound messages are kept in the callback outbox")
      : Effect.gen(function*() {
        yield* recoverLeases.pipe(Effect.catchAllCause((cause) => Effect.logWarning("callback outbox recovery failed", cause)))
        let lastHousekeeping = yield* Clock.currentTimeMillis
        const housekeepingMillis = HOUSEKEEPING_EVERY * Duration.toMillis(POLL_INTERVAL)
        while (true) {
          const claimed = yield* deliverDue.pipe(
            Effect.catchAllCause((cause) => Effect.as(Effect.logWarning("callback outbox sweep failed", cause), 0))
          )
          const now = yield* Clock.currentTimeMillis
          if (now - lastHousekeeping >= housekeepingMillis) {
            lastHousekeeping = now
            yield* Effect.zipRight(Effect.orDie(heartbeat), reapLeases(false)).pipe(
              Effect.catchAllCause((cause) => Effect.logWarning("callback outbox housekeeping failed", cause))
            )
          }
          if (claimed < BATCH_SIZE) yield* Effect.race(Queue.take(signal), Effect.sleep(POLL_INTERVAL))
        }
      }).pipe(Effect.ensuring(sql`DELETE FROM webhook_outbox_workers WHERE owner = ${owner}`.pipe(Effect.ignore)))

    return { enqueue, enqueueAll, wake, deliverDue, pending, recoverLeases, owner, run } as const
  })
}) {}

/** Runs the deliverer's loop for the lifetime of the app. */
export const OutboxDelivererLive = Layer.scopedDiscard(
  Effect.flatMap(OutboxDeliverer, (deliverer) => Effect.forkScoped(deliverer.run))
)
