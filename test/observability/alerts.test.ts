/**
 * Admin alerts over WhatsApp, on a TestClock, delivered through the sandbox
 * carrier to the sandbox outbox: critical repeats until ACK, dedupe, the
 * digest of warnings, quiet hours.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { expect, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { TestDomain } from "../../layers/Test.ts"
import { AlertManager, inQuietHours } from "../../src/observability/AlertManager.ts"

const ADMIN = "+15559990000"
const env = {
  ADMIN_WHATSAPP_NUMBER: ADMIN,
  ADMIN_ALERT_TIMEZONE: "UTC",
  ADMIN_ALERT_QUIET_HOURS_START: "23",
  ADMIN_ALERT_QUIET_HOURS_END: "7"
}

const realPause = (ms: number) => Effect.promise(() => new Promise<void>((r) => setTimeout(r, ms)))

/** Messages to the admin whose body contains `text` (the carrier writes the outbox in the background). */
const delivered = (text: string, expected: number) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    let rows: ReadonlyArray<{ readonly body: unknown }> = []
    for (let i = 0; i < 40; i++) {
      rows = yield* sql<{ body: unknown }>`SELECT body FROM sandbox_outbox WHERE to_address = ${ADMIN} AND channel = 'whatsapp'`
      const n = rows.filter((r) => String(r.body).includes(text)).length
      if (n >= expected) break
      yield* realPause(25)
    }
    return rows.filter((r) => String(r.body).includes(text)).length
  })

const at = (hourUtc: number) => TestClock.setTime(Date.UTC(2026, 0, 5 + Math.floor(hourUtc / 24), hourUtc % 24, 0, 0))

layer(TestDomain({ env }), { timeout: 60_000 })("admin alerts", (it) => {
  it("quiet hours wrap midnight", () => {
    expect([23, 0, 6].map((h) => inQuietHours(h, 23, 7))).toEqual([true, true, true])
    expect([7, 12, 22].map((h) => inQuietHours(h, 23, 7))).toEqual([false, false, false])
  })

  it.effect("CRITICAL is sent at once and repeated every 15 minutes until acknowledged", () =>
    Effect.gen(function*() {
      const alerts = yield* AlertManager
      yield* at(12)
      const a = yield* alerts.raise({ severity: "critical", key: "crit-1", title: "Provider down crit-1" })
      expect(yield* delivered("crit-1", 1)).toBe(1)
      yield* TestClock.adjust("14 minutes")
      yield* alerts.tick
      expect(yield* delivered("crit-1", 2)).toBe(1)
      yield* TestClock.adjust("1 minute")
      yield* alerts.tick
      expect(yield* delivered("crit-1", 2)).toBe(2)
      expect(yield* alerts.ack(a.id)).toBe(true)
      yield* TestClock.adjust("30 minutes")
      yield* alerts.tick
      yield* realPause(100)
      expect(yield* delivered("crit-1", 3)).toBe(2)
      const listed = (yield* alerts.list).find((x) => x.id === a.id)
      expect(listed?.state).toBe("acknowledged")
    }))

  it.effect("the admin's ACK reply acknowledges; someone else's does not", () =>
    Effect.gen(function*() {
      const alerts = yield* AlertManager
      yield* at(36)
      const a = yield* alerts.raise({ severity: "critical", key: "crit-2", title: "Token compromised crit-2" })
      expect(yield* alerts.ackFromReply("+15550000001", "ACK")).toBe(false)
      expect(yield* alerts.ackFromReply(`whatsapp:${ADMIN}`, `ack ${a.id.slice(0, 8)}`)).toBe(true)
      expect((yield* alerts.list).find((x) => x.id === a.id)?.state).toBe("acknowledged")
    }))

  it.effect("the same key within 5 minutes is sent once and counted", () =>
    Effect.gen(function*() {
      const alerts = yield* AlertManager
      yield* at(60)
      yield* alerts.raise({ severity: "high", key: "dup", title: "Webhook forgeries dup-1" })
      yield* TestClock.adjust("1 minute")
      yield* alerts.raise({ severity: "high", key: "dup", title: "Webhook forgeries dup-1" })
      const third = yield* alerts.raise({ severity: "high", key: "dup", title: "Webhook forgeries dup-1" })
      expect(third.count).toBe(3)
      yield* realPause(100)
      expect(yield* delivered("dup-1", 2)).toBe(1)
      yield* TestClock.adjust("6 minutes")
      yield* alerts.raise({ severity: "high", key: "dup", title: "Webhook forgeries dup-1" })
      expect(yield* delivered("dup-1", 2)).toBe(2)
    }))

  it.effect("warnings wait for the hourly digest: one message listing them all", () =>
    Effect.gen(function*() {
      const alerts = yield* AlertManager
      yield* at(84)
      yield* alerts.tick
      for (const n of [1, 2, 3]) yield* alerts.raise({ severity: "medium", key: `warn-${n}`, title: `Spend at 80% digest-w${n}` })
      yield* realPause(100)
      expect(yield* delivered("digest-w", 1)).toBe(0)
      yield* TestClock.adjust("61 minutes")
      yield* alerts.tick
      expect(yield* delivered("digest-w1", 1)).toBe(1)
      const sql = yield* SqlClient.SqlClient
      const rows = yield* sql<{ body: string }>`SELECT body FROM sandbox_outbox WHERE body LIKE ${"%digest-w1%"}`
      expect(rows[0]?.body).toContain("digest-w2")
      expect(rows[0]?.body).toContain("digest-w3")
    }))

  it.effect("quiet hours hold non-critical alerts until they end; critical goes through", () =>
    Effect.gen(function*() {
      const alerts = yield* AlertManager
      yield* at(96 + 23)
      yield* TestClock.adjust("30 minutes")
      yield* alerts.raise({ severity: "high", key: "quiet-h", title: "Brute force quiet-h" })
      yield* alerts.raise({ severity: "critical", key: "quiet-c", title: "Auto-suspended quiet-c" })
      expect(yield* delivered("quiet-c", 1)).toBe(1)
      yield* TestClock.adjust("2 hours")
      yield* alerts.tick
      yield* realPause(100)
      expect(yield* delivered("quiet-h", 1)).toBe(0)
      yield* TestClock.adjust("6 hours")
      yield* alerts.tick
      expect(yield* delivered("quiet-h", 1)).toBe(1)
    }))
})
