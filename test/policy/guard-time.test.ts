/**
 * Pure parts of the guard: where numbers ring, quiet-hours arithmetic (with properties), keyword
 * and DNC-file parsing, sliding-window arithmetic.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { countryTimeZones, locateNumber, nanpAreaCodes } from "../../src/policy/areaCodeTimeZones.ts"
import {
  allowedInAll,
  checkQuietHours,
  localMinutes,
  nextAllowed,
  parseDncText,
  parseKeyword
} from "../../src/policy/Compliance.ts"
import * as Windows from "../../src/policy/RateWindows.ts"

describe("area codes and zones", () => {
  it("every zone in the tables is known to Intl; the US table is complete enough", () => {
    const zones = new Set<string>()
    for (const entry of nanpAreaCodes.values()) entry.zones.forEach((z) => zones.add(z))
    for (const list of Object.values(countryTimeZones)) list.forEach((z) => zones.add(z))
    for (const zone of zones) expect(() => new Intl.DateTimeFormat("en-US", { timeZone: zone })).not.toThrow()
    const us = [...nanpAreaCodes.values()].filter((e) => e.country === "US").length
    const ca = [...nanpAreaCodes.values()].filter((e) => e.country === "CA").length
    expect(us).toBeGreaterThan(340)
    expect(ca).toBeGreaterThan(40)
    // every area code is three digits starting 2-9
    for (const code of nanpAreaCodes.keys()) expect(code).toMatch(/^[2-9]\d\d$/)
  })

  it("locates numbers by area code, then by country; non-geographic numbers have no zone", () => {
    expect(locateNumber("+12125550142")).toEqual({ country: "US", zones: ["America/New_York"], precision: "area_code" })
    expect(locateNumber("+14155550100").zones).toEqual(["America/Los_Angeles"])
    expect(locateNumber("+18085550100").zones).toEqual(["Pacific/Honolulu"])
    expect(locateNumber("+18505550100").zones).toEqual(["America/New_York", "America/Chicago"])
    expect(locateNumber("+16045550100")).toMatchObject({ country: "CA", zones: ["America/Vancouver"] })
    expect(locateNumber("+17875551234")).toMatchObject({ country: "PR", zones: ["America/Puerto_Rico"] })
    // toll-free: the whole United States (Hawaii to Eastern)
    expect(locateNumber("+18005551234")).toMatchObject({ country: "US", precision: "country" })
    expect(locateNumber("+18005551234").zones).toContain("Pacific/Honolulu")
    expect(locateNumber("+18765551234")).toMatchObject({ country: "JM", zones: ["America/Jamaica"] })
    expect(locateNumber("+972521234567")).toMatchObject({ country: "IL", zones: ["Asia/Jerusalem"] })
    expect(locateNumber("+61412345678").zones.length).toBeGreaterThan(3)
    expect(locateNumber("+80012345678")).toEqual({ country: undefined, zones: [], precision: "none" })
  })
})

describe("quiet hours", () => {
  it("08:00 is allowed, 20:59 is allowed, 21:00 and 07:59 are not (local time)", () => {
    const ny = ["America/New_York"]
    const at = (h: number, m: number) => Date.UTC(2026, 0, 15, h + 5, m) // EST = UTC-5
    expect(allowedInAll(ny, at(8, 0))).toBe(true)
    expect(allowedInAll(ny, at(7, 59))).toBe(false)
    expect(allowedInAll(ny, at(20, 59))).toBe(true)
    expect(allowedInAll(ny, at(21, 0))).toBe(false)
    expect(localMinutes("Asia/Kolkata", Date.UTC(2026, 0, 15, 0, 0))).toBe(5 * 60 + 30)
  })

  it("same instant, different zones: 21:05 in New York is quiet, 18:05 in Los Angeles is not", () => {
    const t = Date.UTC(2026, 0, 15, 2, 5)
    expect(checkQuietHours(locateNumber("+12125550142"), t)).toMatchObject({ allowed: false, retryAfterMs: (10 * 60 + 55) * 60_000 })
    expect(checkQuietHours(locateNumber("+14155550100"), t)).toEqual({ allowed: true })
    // unknown area code in the US: strictest over all US zones (Hawaii opens last)
    const tollFree = checkQuietHours(locateNumber("+18005551234"), Date.UTC(2026, 0, 15, 15, 0))
    expect(tollFree).toMatchObject({ allowed: false, retryAfterMs: 3 * 3600_000 }) // 08:00 HST = 18:00 UTC
  })

  it("property: nextAllowed is the first allowed minute after now, for random instants and countries", () => {
    const countries = Object.keys(countryTimeZones)
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(2025, 0, 1), max: Date.UTC(2027, 11, 31) }),
        fc.constantFrom(...countries, "US", "CA", "RU", "AU", "MX", "BR"),
        (now, country) => {
          const zones = countryTimeZones[country] ?? []
          fc.pre(!allowedInAll(zones, now))
          const next = nextAllowed(zones, now)
          if (next === undefined) {
            // no shared daytime: never allowed in the next two days (15-minute probes)
            for (let t = now; t < now + 2 * 86_400_000; t += 15 * 60_000) expect(allowedInAll(zones, t)).toBe(false)
            return
          }
          expect(next).toBeGreaterThan(now)
          expect(allowedInAll(zones, next)).toBe(true)
          if (next - 60_000 > now) expect(allowedInAll(zones, next - 60_000)).toBe(false)
          // nothing allowed in between (probed every 10 minutes)
          for (let t = now + 1; t < next; t += 10 * 60_000) expect(allowedInAll(zones, t)).toBe(false)
        }
      ),
      { numRuns: 300 }
    )
  })
})

describe("keywords and DNC files", () => {
  it("opt-out, opt-in and help keywords: whole message, trimmed, case-insensitive", () => {
    for (const w of ["STOP", "stop", " Stop. ", "STOPALL", "unsubscribe", "CANCEL", "end", "QUIT", "revoke", "optout"]) {
      expect(parseKeyword(w)?.action).toBe("opt_out")
    }
    for (const w of ["START", "unstop", "Yes"]) expect(parseKeyword(w)?.action).toBe("opt_in")
    for (const w of ["HELP", "info!"]) expect(parseKeyword(w)?.action).toBe("help")
    for (const w of ["stop it", "please STOP", "", "STOPP", "start now"]) expect(parseKeyword(w)).toBeUndefined()
  })

  it("DNC text: E.164, 10 or 11 digits, FTC areacode,number; comments and blanks skipped; bad lines reported", () => {
    const parsed = parseDncText("# FTC\n212,5550101,extra\n2125550102\n12125550103\n+442071234567\n\n1125550104\nfoo\n(212) 555-0105")
    expect(parsed.numbers).toEqual(["+12125550101", "+12125550102", "+12125550103", "+442071234567", "+12125550105"])
    expect(parsed.invalidLines).toEqual([7, 8])
  })
})

describe("sliding windows", () => {
  const limits = { per_minute: 3, per_hour: 5, per_day: 6 }
  it("property: a timeline built by admitting only when check says ok never exceeds any window", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 90_000 }), { maxLength: 80 }), (gaps) => {
        let times: Windows.Timeline = Windows.EMPTY_TIMELINE
        let now = 0
        for (const gap of gaps) {
          now += gap
          const verdict = Windows.check(times, limits, now)
          const counts = Windows.WINDOWS.map((w) => Windows.countIn(times, w.ms, now))
          if (verdict.ok) {
            expect(counts.every((c, i) => c < (Object.values(limits)[i] ?? 0))).toBe(true)
            times = Windows.add(times, now)
          } else {
            // the wait is exact: one ms earlier still full, at the instant a slot is free
            expect(verdict.retryAfterMs).toBeGreaterThan(0)
            expect(Windows.check(times, limits, now + verdict.retryAfterMs - 1).ok).toBe(false)
            expect(Windows.check(times, limits, now + verdict.retryAfterMs).ok).toBe(true)
          }
        }
      }),
      { numRuns: 300 }
    )
  })

  it("remove gives one slot back; prune keeps only the last day", () => {
    const t = [1000, 2000, 2000, 3000]
    expect(Windows.remove(t, 2000)).toEqual([1000, 2000, 3000])
    expect(Windows.remove(t, 2500)).toBe(t)
    expect(Windows.prune(t, 2000 + Windows.DAY_MS)).toEqual([3000])
  })
})
