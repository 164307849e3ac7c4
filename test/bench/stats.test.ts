import { describe, expect, it } from "vitest"
import { median, percentile, slope, summarize } from "../../scripts/bench/stats.ts"

describe("bench stats", () => {
  it("percentile is nearest-rank on a sorted array", () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1) // 1..100
    expect(percentile(xs, 50)).toBe(50)
    expect(percentile(xs, 99)).toBe(99)
    expect(percentile(xs, 100)).toBe(100)
    expect(percentile(xs, 0)).toBe(1)
    expect(percentile([7], 50)).toBe(7)
    expect(percentile([1, 2, 3, 4], 50)).toBe(2)
    expect(percentile([1, 2, 3, 4], 51)).toBe(3)
    expect(percentile([], 50)).toBeNaN()
  })

  it("summarize sorts, and derives rates and CPU per op", () => {
    const s = summarize([5, 1, 4, 2, 3], 1000, { serverMs: 10, clientMs: 5 })
    expect(s.n).toBe(5)
    expect(s.p50).toBe(3)
    expect(s.p99).toBe(5)
    expect(s.mean).toBe(3)
    expect(s.max).toBe(5)
    expect(s.opsPerSec).toBe(5)
    expect(s.serverCpuMsPerOp).toBe(2)
    expect(s.clientCpuMsPerOp).toBe(1)
  })

  it("median does not need sorted input", () => {
    expect(median([9, 1, 5])).toBe(5)
    expect(median([])).toBeNaN()
  })

  it("slope is the least-squares rate", () => {
    expect(slope([{ x: 0, y: 1 }, { x: 1, y: 3 }, { x: 2, y: 5 }])).toBeCloseTo(2, 10)
    expect(slope([{ x: 0, y: 4 }, { x: 1, y: 5 }, { x: 2, y: 4 }, { x: 3, y: 5 }])).toBeCloseTo(0.2, 10)
    expect(slope([{ x: 1, y: 1 }])).toBeNaN()
    expect(slope([{ x: 1, y: 1 }, { x: 1, y: 2 }])).toBeNaN()
  })
})
