/**
 * Spending caps with reservations (pure). All amounts are integer micro-dollars.
 *
 * An admitted action reserves its estimated cost; `settle` replaces the reservation with the
 * actual cost (logged in `usage_logs`) or drops it (the action failed). The check is
 * `settled + reserved + cost <= cap` for both the UTC day and the UTC calendar month, so a
 * sequence of admits can never exceed a cap by even one micro-dollar on estimated costs. A
 * reservation still pending counts against both caps whatever day it was made (conservative).
 */
import { DAY_MS } from "./RateWindows.ts"

export interface SpendLedger {
  /** Start (epoch ms) of the UTC day `settledDay` covers. */
  readonly dayStart: number
  /** Start of the UTC month `settledMonth` covers. */
  readonly monthStart: number
  /** Settled (logged) spend since `dayStart`. */
  readonly settledDay: number
  /** Settled (logged) spend since `monthStart`. */
  readonly settledMonth: number
  /** Pending reservations, in total. */
  readonly reserved: number
}

export const utcDayStart = (ms: number): number => ms - (((ms % DAY_MS) + DAY_MS) % DAY_MS)
export const nextUtcDay = (ms: number): number => utcDayStart(ms) + DAY_MS
export const utcMonthStart = (ms: number): number => {
  const d = new Date(ms)
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)
}
export const nextUtcMonth = (ms: number): number => {
  const d = new Date(ms)
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)
}
/** Monday 00:00 UTC of the week of `ms` (ISO weeks). */
export const utcWeekStart = (ms: number): number => {
  const day = utcDayStart(ms)
  const dow = new Date(day).getUTCDay() // 0 = Sunday
  return day - ((dow + 6) % 7) * DAY_MS
}

export const emptyLedger = (now: number): SpendLedger => ({
  dayStart: utcDayStart(now),
  monthStart: utcMonthStart(now),
  settledDay: 0,
  settledMonth: 0,
  reserved: 0
})

/** Starts a new day / month when `now` is past the ledger's. */
export const rollover = (ledger: SpendLedger, now: number): SpendLedger => {
  const dayStart = utcDayStart(now)
  if (dayStart === ledger.dayStart) return ledger
  const monthStart = utcMonthStart(now)
  return {
    dayStart,
    monthStart,
    settledDay: 0,
    settledMonth: monthStart === ledger.monthStart ? ledger.settledMonth : 0,
    reserved: ledger.reserved
  }
}

export type SpendCap = "spend_per_day" | "spend_per_month"

export type SpendCheck =
  | { readonly ok: true }
  | { readonly ok: false; readonly cap: SpendCap; readonly capMicros: number; readonly retryAfterMs: number }

/** Would `cost` more fit under both caps (ledger already rolled over to `now`)? */
export const checkSpend = (
  ledger: SpendLedger,
  cost: number,
  caps: { readonly day: number; readonly month: number },
  now: number
): SpendCheck => {
  if (ledger.settledMonth + ledger.reserved + cost > caps.month) {
    return { ok: false, cap: "spend_per_month", capMicros: caps.month, retryAfterMs: nextUtcMonth(now) - now }
  }
  if (ledger.settledDay + ledger.reserved + cost > caps.day) {
    return { ok: false, cap: "spend_per_day", capMicros: caps.day, retryAfterMs: nextUtcDay(now) - now }
  }
  return { ok: true }
}

export const reserve = (ledger: SpendLedger, cost: number): SpendLedger => ({ ...ledger, reserved: ledger.reserved + cost })

export const release = (ledger: SpendLedger, cost: number): SpendLedger => ({
  ...ledger,
  reserved: Math.max(0, ledger.reserved - cost)
})

/** Books an actual cost logged at `now` (ledger already rolled over to `now`). */
export const book = (ledger: SpendLedger, cost: number): SpendLedger => ({
  ...ledger,
  settledDay: ledger.settledDay + cost,
  settledMonth: ledger.settledMonth + cost
})
