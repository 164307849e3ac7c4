import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { randomUUID } from "node:crypto"
import { AgentId } from "../../schema/Ids.ts"
import { AppConfig } from "../config/AppConfig.ts"
import { PublicUrl } from "../http/PublicUrl.ts"
import { Telephony } from "../providers/Telephony.ts"
import { recordAction } from "./Metrics.ts"

export const Severity = Schema.Literal("critical", "high", "medium", "low")
export type Severity = typeof Severity.Type

export const AlertRecord = Schema.Struct({
  id: Schema.String,
  severity: Severity,
  key: Schema.String,
  title: Schema.String,
  detail: Schema.String,
  /** How many times it was raised (repeats within the dedupe window count here, not as new alerts). */
  count: Schema.Number,
  state: Schema.Literal("open", "acknowledged", "sent", "pending_digest", "digested"),
  raisedAt: Schema.String,
  lastRaisedAt: Schema.String,
  deliveries: Schema.Number,
  acknowledgedAt: Schema.NullOr(Schema.String)
})
export type AlertRecord = typeof AlertRecord.Type

interface Entry {
  readonly id: string
  readonly severity: Severity
  readonly key: string
  readonly title: string
  readonly detail: string
  count: number
  state: AlertRecord["state"]
  readonly raisedAt: number
  lastRaisedAt: number
  lastSentAt: number
  deliveries: number
  acknowledgedAt: number | null
}

const HISTORY_MAX = 1000
const SYSTEM = AgentId.make("system")

/** The local hour of `now` in a time zone. */
const hourIn = (now: number, timeZone: string): number =>
  Number(new Intl.DateTimeFormat("en-GB", { timeZone, hour: "2-digit", hourCycle: "h23" }).format(new Date(now)))

export const inQuietHours = (hour: number, start: number, end: number): boolean =>
  start === end ? false : start < end ? hour >= start && hour < end : hour >= start || hour < end

/**
 * Admin alerts over WhatsApp (spec feature 17), sent through the telephony
 * port (the sandbox outbox in sandbox mode) from a system sender to
 * ADMIN_WHATSAPP_NUMBER, each delivery metered as a `system` whatsapp action.
 *
 * - the same key within the dedupe window (5 min) is counted, not sent again;
 * - critical: sent at once, any hour, and repeated every 15 min until
 *   acknowledged (the admin replies ACK, or POST /admin/alerts/:id/ack);
 * - high: sent at once outside quiet hours, else held for the digest;
 * - medium and low: one digest message an hour, outside quiet hours.
 *
 * History (newest first, last 1,000) at GET /admin/alerts; kept in memory.
 */
export class AlertManager extends Effect.Service<AlertManager>()("app/observability/AlertManager", {
  effect: Effect.gen(function*() {
    const config = yield* AppConfig
    const telephony = yield* Telephony
    const publicUrl = yield* PublicUrl
    const dedupeMs = config.adminAlertDedupeSeconds * 1000
    const repeatMs = config.adminAlertRepeatSeconds * 1000
    const digestMs = config.adminAlertDigestSeconds * 1000
    const entries: Array<Entry> = []
    let lastDigestAt = yield* Clock.currentTimeMillis

    const quiet = (now: number) =>
      inQuietHours(hourIn(now, config.adminAlertTimeZone), config.adminAlertQuietStart, config.adminAlertQuietEnd)

    const deliver = (text: string) =>
      Option.match(config.adminWhatsAppNumber, {
        onNone: () => Effect.logWarning("admin alert not delivered: ADMIN_WHATSAPP_NUMBER is not set").pipe(Effect.as(false)),
        onSome: (to) =>
          Effect.gen(function*() {
            const started = yield* Clock.currentTimeMillis
            const statusCallbackUrl = yield* publicUrl.webhook(SYSTEM, "message-status")
            yield* telephony.sendMessage({
              agentId: SYSTEM,
              channel: "whatsapp",
              from: config.adminAlertFrom,
              to,
              body: text,
              media: [],
              statusCallbackUrl
            })
            const ended = yield* Clock.currentTimeMillis
            yield* recordAction({
              agent: "system",
              channel: "whatsapp",
              actionType: "admin_alert",
              cost: 0,
              durationSeconds: (ended - started) / 1000
            })
            return true
          }).pipe(
            Effect.catchAll(() => Effect.logWarning("admin alert delivery failed").pipe(Effect.as(false)))
          )
      })

    const line = (e: Entry) => `[${e.severity.toUpperCase()}] ${e.title}${e.count > 1 ? ` (x${e.count})` : ""}`
    const message = (e: Entry, repeat: boolean) =>
      `${repeat ? "REPEAT " : ""}${line(e)}\n${e.detail}${
        e.severity === "critical" ? `\nReply "ACK ${e.id.slice(0, 8)}" or POST /admin/alerts/${e.id}/ack` : ""
      }`

    const send = (e: Entry, now: number, repeat: boolean) =>
      Effect.map(deliver(message(e, repeat)), (ok) => {
        if (ok) e.deliveries++
        e.lastSentAt = now
      })

    const toRecord = (e: Entry): AlertRecord => ({
      id: e.id,
      severity: e.severity,
      key: e.key,
      title: e.title,
      detail: e.detail,
      count: e.count,
      state: e.state,
      raisedAt: new Date(e.raisedAt).toISOString(),
      lastRaisedAt: new Date(e.lastRaisedAt).toISOString(),
      deliveries: e.deliveries,
      acknowledgedAt: e.acknowledgedAt === null ? null : new Date(e.acknowledgedAt).toISOString()
    })

    const raise = Effect.fn("AlertManager.raise")(function*(alert: {
      readonly severity: Severity
      readonly key: string
      readonly title: string
      readonly detail?: string | undefined
    }) {
      const now = yield* Clock.currentTimeMillis
      const same = entries.find((e) => e.key === alert.key && now - e.lastRaisedAt < dedupeMs && e.state !== "acknowledged")
      if (same !== undefined) {
        same.count++
        same.lastRaisedAt = now
        return toRecord(same)
      }
      const entry: Entry = {
        id: randomUUID(),
        severity: alert.severity,
        key: alert.key,
        title: alert.title,
        detail: alert.detail ?? "",
        count: 1,
        state: "pending_digest",
        raisedAt: now,
        lastRaisedAt: now,
        lastSentAt: 0,
        deliveries: 0,
        acknowledgedAt: null
      }
      entries.unshift(entry)
      if (entries.length > HISTORY_MAX) entries.length = HISTORY_MAX
      yield* Effect.logWarning("admin alert").pipe(Effect.annotateLogs({ severity: alert.severity, alertKey: alert.key }))
      if (alert.severity === "critical") {
        entry.state = "open"
        yield* send(entry, now, false)
      } else if (alert.severity === "high" && !quiet(now)) {
        entry.state = "sent"
        yield* send(entry, now, false)
      }
      return toRecord(entry)
    })

    const ackEntry = (e: Entry, now: number) => {
      e.state = "acknowledged"
      e.acknowledgedAt = now
    }

    /** Repeats unacknowledged criticals; sends the digest when it is due and not quiet hours. */
    const tick = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      for (const e of entries) {
        if (e.state === "open" && now - e.lastSentAt >= repeatMs) yield* send(e, now, true)
      }
      if (now - lastDigestAt < digestMs || quiet(now)) return
      const pending = entries.filter((e) => e.state === "pending_digest").reverse()
      lastDigestAt = now
      if (pending.length === 0) return
      const ok = yield* deliver(`Digest: ${pending.length} alert(s)\n${pending.map(line).join("\n")}`)
      for (const e of pending) {
        e.state = "digested"
        if (ok) e.deliveries++
      }
    }).pipe(Effect.withSpan("AlertManager.tick"))

    return {
      raise,
      tick,
      list: Effect.sync(() => entries.map(toRecord)),
      /** Acknowledges one alert by id; false when there is no such open alert. */
      ack: (id: string) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          const e = entries.find((x) => x.id === id && x.state === "open")
          if (e === undefined) return false
          ackEntry(e, now)
          return true
        }),
      /**
       * An inbound WhatsApp/SMS from the admin: "ACK" acknowledges every open
       * critical, "ACK <id prefix>" one. False when it is not an ACK from the admin.
       */
      ackFromReply: (from: string, body: string) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          const admin = Option.getOrUndefined(config.adminWhatsAppNumber)
          const match = /^\s*ack\b\s*([0-9a-f-]{4,36})?/i.exec(body)
          if (admin === undefined || from.replace(/^whatsapp:/, "") !== admin || match === null) return false
          const prefix = match[1]?.toLowerCase()
          const open = entries.filter((e) => e.state === "open" && (prefix === undefined || e.id.startsWith(prefix)))
          for (const e of open) ackEntry(e, now)
          return open.length > 0
        })
    } as const
  })
}) {}

/** The alert manager's clock: repeats and digests checked every 30 s. */
export const AlertManagerLive = Layer.scopedDiscard(Effect.gen(function*() {
  const alerts = yield* AlertManager
  yield* alerts.tick.pipe(Effect.repeat(Schedule.spaced("30 seconds")), Effect.forkScoped)
}))
