/** Latency statistics for `npm run bench`. */

export interface Summary {
  /** Number of timed operations. */
  readonly n: number
  readonly p50: number
  readonly p99: number
  readonly mean: number
  readonly max: number
  /** Operations per second over the wall-clock time of the whole measure. */
  readonly opsPerSec: number
  /** CPU time of the server process per operation (ms), where measurable. */
  readonly serverCpuMsPerOp: number
  /** CPU time of the bench (client) process per operation (ms). */
  readonly clientCpuMsPerOp: number
}

/** CPU used during a measure, in ms (NaN where unknown). */
export interface CpuUsed {
  readonly serverMs: number
  readonly clientMs: number
}

/** Nearest-rank percentile of an ascending array (p in 0..100). */
export const percentile = (sorted: ReadonlyArray<number>, p: number): number => {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.ceil((p / 100) * sorted.length)
  const index = Math.min(sorted.length - 1, Math.max(0, rank - 1))
  return sorted[index] ?? Number.NaN
}

/** Summarises per-operation latencies (ms) measured over `wallMs` of wall-clock time. */
export const summarize = (
  latencies: ReadonlyArray<number>,
  wallMs: number,
  cpu: CpuUsed = { serverMs: Number.NaN, clientMs: Number.NaN }
): Summary => {
  const sorted = [...latencies].sort((a, b) => a - b)
  const total = sorted.reduce((s, x) => s + x, 0)
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    mean: sorted.length === 0 ? Number.NaN : total / sorted.length,
    max: sorted[sorted.length - 1] ?? Number.NaN,
    opsPerSec: wallMs > 0 ? (sorted.length * 1000) / wallMs : Number.NaN,
    serverCpuMsPerOp: sorted.length > 0 ? cpu.serverMs / sorted.length : Number.NaN,
    clientCpuMsPerOp: sorted.length > 0 ? cpu.clientMs / sorted.length : Number.NaN
  }
}

/** High-resolution "now" in milliseconds. */
export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6

/**
 * Least-squares slope of `y` over `x` (units of y per unit of x); NaN with
 * fewer than two points or when every x is the same.
 */
export const slope = (points: ReadonlyArray<{ readonly x: number; readonly y: number }>): number => {
  const n = points.length
  if (n < 2) return Number.NaN
  const mx = points.reduce((s, p) => s + p.x, 0) / n
  const my = points.reduce((s, p) => s + p.y, 0) / n
  let num = 0
  let den = 0
  for (const p of points) {
    num += (p.x - mx) * (p.y - my)
    den += (p.x - mx) ** 2
  }
  return den === 0 ? Number.NaN : num / den
}

/** Median of unsorted numbers (NaN when empty). */
export const median = (xs: ReadonlyArray<number>): number => percentile([...xs].sort((a, b) => a - b), 50)
