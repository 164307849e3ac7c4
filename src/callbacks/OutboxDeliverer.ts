/**
 * Durable delivery of callbacks to the orchestrator (`AGENTOS_CALLBACK_URL`).
 *
 * An accepted inbound message writes its callback into `webhook_outbox` in the
 * same transaction as its `messages` row (`enqueue`), encrypted (it holds the
 * body). This deliverer then POSTs it, signed per Standard Webhooks, until the
 * orchestrator answers 2xx:
 *
 * - Claim with a lease: one UPDATE moves `next_attempt_at` of up to 20 due rows
 *   60 s ahead (`FOR UPDATE SKIP LOCKED`, so several instances never claim the
 *   same row) and returns them. No transaction stays open across the HTTP call
 *   (PGlite has a single connection). A worker that dies mid-delivery leaves
 *   its rows due again when the lease ends; the 10 s request timeout is well
 *   inside the lease, so two attempts of one row never overlap. On shutdown an
 *   interrupted attempt gives its lease back at once.
 * - 2xx: `delivered_at` set, payload replaced by `{}` (nothing personal is kept).
 *   Anything else: `attempts + 1`, `next_attempt_at` = now + backoff
 *   (exponential from 1 s, ×0.75–1.25 jitter, capped at 10 min), `last_error` =
 *   the HTTP status or the error class (never a body or an address).
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
import { AppConfig } from "../config/AppConfig.ts"
import { Cipher } from "../security/Cipher.ts"
import { sign } from "../webhooks/StandardWebhooks.ts"

/** Rows claimed per sweep. */
export const BATCH_SIZE = 20
/** How long a claim keeps a row from other workers. */
export const LEASE = Duration.seconds(60)
/** Timeout of one POST to the orchestrator. */
export const REQUEST_TIMEOUT = Duration.seconds(10)
/** How often the loop looks for due rows when nothing woke it. */
export const POLL_INTERVAL = Duration.seconds(1)
/** Concurrent POSTs within one batch. */
const CONCURRENCY = 5

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

const Count = Schema.Union(Schema.Number, Schema.NumberFromString)
const ClaimedRow = Schema.Struct({
  id: Schema.String,
  agentId: Schema.NullOr(Schema.String),
  webhookId: Schema.String,
  payload: Schema.Unknown,
  attempts: Count
})
type ClaimedRow = typeof ClaimedRow.Type

/** `{"sealed":"v1:…"}` as stored in the JSONB column (a string from drivers that don't parse JSON). */
const Sealed = Schema.Struct({ sealed: Schema.String })
const SealedColumn = Schema.Union(Sealed, Schema.parseJson(Sealed))

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
    const signal = yield* Queue.sliding<void>(1)
    const decodeRows = Schema.decodeUnknown(Schema.Array(ClaimedRow))
    const decodeSealed = Schema.decodeUnknownOption(SealedColumn)

    /**
     * Writes a callback for later delivery. Run it inside the transaction that
     * records what it reports; call `wake` once that transaction committed.
     */
    const enqueue = (entry: {
      readonly agentId: string
      readonly webhookId: string
      readonly payload: CallbackPayload
    }) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const sealed = cipher.encrypt("callback-outbox", JSON.stringify(entry.payload))
        yield* sql`INSERT INTO webhook_outbox ${
          sql.insert({
            agentId: entry.agentId,
            webhookId: entry.webhookId,
            payload: JSON.stringify({ sealed }),
            nextAttemptAt: new Date(now)
          })
        } ON CONFLICT (webhook_id) DO NOTHING`
      }).pipe(Effect.withSpan("OutboxDeliverer.enqueue"))

    /** Tells the loop that a row is waiting (cheap; coalesces). */
    const wake = Queue.offer(signal, undefined).pipe(Effect.asVoid)

    const claim = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const rows = yield* sql`UPDATE webhook_outbox SET next_attempt_at = ${new Date(now + Duration.toMillis(LEASE))}
        WHERE id IN (
          SELECT id FROM webhook_outbox
          WHERE delivered_at IS NULL AND next_attempt_at <= ${new Date(now)}
          ORDER BY created_at LIMIT ${BATCH_SIZE}
          FOR UPDATE SKIP LOCKED
        )
        RETURNING id, agent_id, webhook_id, payload, attempts`
      return yield* decodeRows(rows)
    })

    const markDelivered = (row: ClaimedRow) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        sql`UPDATE webhook_outbox SET delivered_at = ${new Date(now)}, payload = '{}'::jsonb,
              attempts = attempts + 1, last_error = NULL
            WHERE id = ${row.id}`)

    const markFailed = (row: ClaimedRow, error: string) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const jitter = yield* Random.next
        const attempts = row.attempts + 1
        const next = now + backoffMillis(attempts, jitter)
        yield* sql`UPDATE webhook_outbox SET attempts = attempts + 1, next_attempt_at = ${new Date(next)},
              last_error = ${error}
            WHERE id = ${row.id} AND delivered_at IS NULL`
        yield* Effect.logWarning("callback delivery failed").pipe(
          Effect.annotateLogs({ agentId: row.agentId ?? "", webhookId: row.webhookId, attempts, error })
        )
      })

    /** An interrupted attempt (shutdown) hands its lease back, so a restart retries at once. */
    const releaseLease = (row: ClaimedRow) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        sql`UPDATE webhook_outbox SET next_attempt_at = ${new Date(now)} WHERE id = ${row.id} AND delivered_at IS NULL`)
        .pipe(Effect.ignore)

    const deliverOne = (callbackUrl: string) => (row: ClaimedRow) =>
      Effect.gen(function*() {
        const body = Option.flatMap(decodeSealed(row.payload), ({ sealed }) =>
          Option.fromNullable(cipher.decrypt("callback-outbox", sealed)))
        if (Option.isNone(body)) return yield* markFailed(row, "undecryptable")
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
          Effect.either,
          Effect.onInterrupt(() => releaseLease(row))
        )
        if (Either.isRight(outcome) && outcome.right >= 200 && outcome.right < 300) {
          yield* markDelivered(row)
          yield* Effect.logDebug("callback delivered").pipe(
            Effect.annotateLogs({ agentId: row.agentId ?? "", webhookId: row.webhookId })
          )
          return
        }
        yield* markFailed(row, Either.isRight(outcome) ? `http_${outcome.right}` : describeFailure(outcome.left))
      })

    /**
     * Claims the due rows (at most one batch) and attempts each once. Returns
     * how many were claimed. Without AGENTOS_CALLBACK_URL it claims nothing.
     */
    const deliverDue: Effect.Effect<number> = Option.match(config.callbackUrl, {
      onNone: () => Effect.succeed(0),
      onSome: (callbackUrl) =>
        Effect.gen(function*() {
          const rows = yield* claim
          yield* Effect.forEach(rows, deliverOne(callbackUrl), { concurrency: CONCURRENCY, discard: true })
          return rows.length
        }).pipe(Effect.orDie, Effect.withSpan("OutboxDeliverer.deliverDue"))
    })

    /** Rows still waiting for delivery (for readiness checks and tests). */
    const pending = sql`SELECT count(*) AS n FROM webhook_outbox WHERE delivered_at IS NULL`.pipe(
      Effect.map((rows) => Number(rows[0]?.["n"] ?? 0)),
      Effect.orDie
    )

    /** The background loop: deliver, then wait for a wake-up or the poll interval. Runs until interrupted. */
    const run: Effect.Effect<void> = Option.isNone(config.callbackUrl)
      ? Effect.logWarning("AGENTOS_CALLBACK_URL is not set: inbound messages are kept in the callback outbox")
      : deliverDue.pipe(
        Effect.catchAllCause((cause) => Effect.as(Effect.logWarning("callback outbox sweep failed", cause), 0)),
        Effect.flatMap((claimed) =>
          claimed >= BATCH_SIZE ? Effect.void : Effect.asVoid(Effect.race(Queue.take(signal), Effect.sleep(POLL_INTERVAL)))
        ),
        Effect.forever
      )

    return { enqueue, wake, deliverDue, pending, run } as const
  })
}) {}

/** Runs the deliverer's loop for the lifetime of the app. */
export const OutboxDelivererLive = Layer.scopedDiscard(
  Effect.flatMap(OutboxDeliverer, (deliverer) => Effect.forkScoped(deliverer.run))
)
