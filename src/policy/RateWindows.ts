/**
 * Exact sliding rate windows over the timestamps of an agent's admitted actions (pure).
 *
 * An action admitted at `t` occupies a slot of a window of length `W` during `[t, t + W)`: at
 * `now` it counts iff `now - W < t` (and `t <= now`). So at exactly `t + 60 s` the minute slot of
 * `t` is free again. The longest window is a day, so only the last 24 h of timestamps are kept.
 *
 * Why timestamps and not the spec's `rate_limits` counters: fixed-window counters
 * (`window_start`, `action_count`) let an agent do 2× its limit around a window boundary and
 * cannot say when exactly the next slot frees. Exact sliding windows need the time of every
 * action, which the guard persists anyway (one `action_events` row per admitted action, as its
 * spend reservation); the windows are rebuilt from those rows on load.
 */

export type WindowName = "per_minute" | "per_hour" | "per_day"

export interface WindowSpec {
  readonly name: WindowName
  readonly ms: number
}

export const MINUTE_MS = 60_000
export const HOUR_MS = 3_600_000
export const DAY_MS = 86_400_000

export const WINDOWS: ReadonlyArray<WindowSpec> = [
  { name: "per_minute", ms: MINUTE_MS },
  { name: "per_hour", ms: HOUR_MS },
  { name: "per_day", ms: DAY_MS }
]

export interface WindowLimits {
  readonly per_minute: number
  readonly per_hour: number
  readonly per_day: number
}

/** Timestamps (epoch ms) ascending. */
export type Timeline = ReadonlyArray<number>

export const EMPTY_TIMELINE: Timeline = Object.freeze([])

/** Index of the first timestamp `> bound` (binary search). */
const firstAfter = (times: Timeline, bound: number): number => {
  let lo = 0
  let hi = times.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((times[mid] ?? 0) > bound) hi = mid
    else lo = mid + 1
  }
  return lo
}

/** Actions counting in the window ending at `now`. */
export const countIn = (times: Timeline, windowMs: number, now: number): number =>
  times.length - firstAfter(times, now - windowMs)

export type WindowCheck =
  | { readonly ok: true; readonly remaining: number }
  | {
    readonly ok: false
    readonly window: WindowName
    readonly limit: number
    /** Until the window has a free slot again (the longest wait over the full windows), ms. */
    readonly retryAfterMs: number
  }

/**
 * Can one more action be admitted at `now`? If so, `remaining` is how many more the tightest
 * window allows after it. If not, the window that frees last and when.
 */
export const check = (times: Timeline, limits: WindowLimits, now: number): WindowCheck => {
  let remaining = Number.POSITIVE_INFINITY
  let refusal: { window: WindowName; limit: number; retryAfterMs: number } | undefined
  for (const w of WINDOWS) {
    const limit = limits[w.name]
    const start = firstAfter(times, now - w.ms)
    const count = times.length - start
    if (count >= limit) {
      // the (count - limit + 1)-th oldest action in the window must leave before one more fits
      const leaving = times[start + (count - limit)] ?? now
      const retryAfterMs = Math.max(0, leaving + w.ms - now)
      if (refusal === undefined || retryAfterMs > refusal.retryAfterMs) {
        refusal = { window: w.name, limit, retryAfterMs }
      }
    } else {
      remaining = Math.min(remaining, limit - count - 1)
    }
  }
  return refusal === undefined ? { ok: true, remaining } : { ok: false, ...refusal }
}

/** Actions still allowed at `now` in the tightest window (0 when one is full). */
export const remaining = (times: Timeline, limits: WindowLimits, now: number): number => {
  let left = Number.POSITIVE_INFINITY
  for (const w of WINDOWS) left = Math.min(left, Math.max(0, limits[w.name] - countIn(times, w.ms, now)))
  return left
}

/** Adds a timestamp (kept sorted; normally appended) and drops those older than a day. */
export const add = (times: Timeline, t: number): Timeline => {
  const kept = prune(times, t)
  const last = kept[kept.length - 1]
  if (last === undefined || last <= t) return [...kept, t]
  const i = firstAfter(kept, t)
  return [...kept.slice(0, i), t, ...kept.slice(i)]
}

/** Removes one occurrence of `t` (a released action). */
export const remove = (times: Timeline, t: number): Timeline => {
  const i = firstAfter(times, t) - 1
  if (i < 0 || times[i] !== t) return times
  if (times.length === 1) return EMPTY_TIMELINE
  return [...times.slice(0, i), ...times.slice(i + 1)]
}

/** Drops the timestamps that no window counts any more at `now`. */
export const prune = (times: Timeline, now: number): Timeline => {
  const first = times[0]
  if (first === undefined || first > now - DAY_MS) return times
  const start = firstAfter(times, now - DAY_MS)
  return start >= times.length ? EMPTY_TIMELINE : times.slice(start)
}
