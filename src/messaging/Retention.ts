import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { AppConfig } from "../config/AppConfig.ts"
import * as Rows from "../db/Rows.ts"
import { MessagesRepo } from "./MessagesRepo.ts"

/** Delivered callbacks (already emptied of their payload) are kept this long for inspection, then deleted. */
export const DELIVERED_CALLBACK_RETENTION_DAYS = 7
/** What the sandbox carrier "delivered to the outside world" is kept this long (demo inspection). */
export const SANDBOX_OUTBOX_RETENTION_DAYS = 7

/**
 * Retention: stored message bodies (opt-in, encrypted) are deleted once their
 * agent's retention ended; delivered outbox rows after a week; callbacks the
 * orchestrator never accepted are given up after CALLBACK_MAX_AGE_HOURS (their
 * sealed payload, which holds the body, is wiped); the sandbox's outside-world
 * mailbox after a week.
 */
export class Retention extends Effect.Service<Retention>()("app/messaging/Retention", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const messages = yield* MessagesRepo
    const config = yield* AppConfig

    const deleteDeliveredCallbacks = SqlSchema.findAll({
      Request: Schema.Number,
      Result: Rows.IdRow,
      execute: (days) =>
        sql`DELETE FROM webhook_outbox
          WHERE delivered_at IS NOT NULL AND delivered_at < now() - make_interval(days => ${days})
          RETURNING id`
    })
    const expireCallbacks = SqlSchema.findAll({
      Request: Schema.Number,
      Result: Rows.IdRow,
      execute: (hours) =>
        sql`UPDATE webhook_outbox
          SET payload = '{}', last_error = 'expired', next_attempt_at = '9999-12-31T00:00:00Z',
            lease_owner = NULL, lease_until = NULL
          WHERE delivered_at IS NULL AND last_error IS DISTINCT FROM 'expired'
            AND created_at < now() - make_interval(hours => ${hours})
          RETURNING id`
    })
    const deleteSandboxOutbox = SqlSchema.findAll({
      Request: Schema.Number,
      Result: Rows.IdRow,
      execute: (days) =>
        sql`DELETE FROM sandbox_outbox WHERE created_at < now() - make_interval(days => ${days}) RETURNING id`
    })

    /** One sweep; returns what it deleted (counts only). */
    const sweep = Effect.gen(function*() {
      const bodiesPurged = yield* messages.purgeExpiredBodies
      const callbacks = yield* deleteDeliveredCallbacks(DELIVERED_CALLBACK_RETENTION_DAYS)
      const expired = yield* expireCallbacks(config.callbackMaxAgeHours)
      const world = yield* deleteSandboxOutbox(SANDBOX_OUTBOX_RETENTION_DAYS)
      const result = {
        bodiesPurged,
        deliveredCallbacksPurged: callbacks.length,
        callbacksExpired: expired.length,
        sandboxOutboxPurged: world.length
      }
      if (Object.values(result).some((n) => n > 0)) {
        yield* Effect.logInfo("retention sweep").pipe(Effect.annotateLogs(result))
      }
      return result
    }).pipe(Effect.orDie, Effect.withSpan("Retention.sweep"))

    return { sweep } as const
  })
}) {}

/** Sweeps at start and then every RETENTION_SWEEP_SECONDS, for the lifetime of the app. */
export const RetentionLive = Layer.scopedDiscard(Effect.gen(function*() {
  const retention = yield* Retention
  const config = yield* AppConfig
  yield* retention.sweep.pipe(
    Effect.catchAllCause((cause) => Effect.logWarning("retention sweep failed", cause)),
    Effect.repeat(Schedule.spaced(Duration.seconds(config.retentionSweepSeconds))),
    Effect.forkScoped
  )
}))
