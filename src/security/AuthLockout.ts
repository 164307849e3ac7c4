import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { AppConfig } from "../config/AppConfig.ts"

interface Entry {
  failures: Array<number>
  lockedUntil: number
}

const MAX_TRACKED_IPS = 50_000

/**
 * Locks out a client address after repeated unknown tokens. Only unknown or
 * dead tokens count — a valid token used for the wrong agent is an
 * authorization error, not a guess — and the default threshold is generous,
 * because every agent of one orchestrator shares its address.
 */
export class AuthLockout extends Effect.Service<AuthLockout>()("app/security/AuthLockout", {
  effect: Effect.gen(function*() {
    const config = yield* AppConfig
    const windowMs = config.authLockoutWindowSeconds * 1000
    const lockMs = config.authLockoutSeconds * 1000
    const entries = new Map<string, Entry>()

    return {
      /** Seconds left of a lockout of this address, or 0. */
      lockedFor: (ip: string) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          const e = entries.get(ip)
          return e === undefined || e.lockedUntil <= now ? 0 : Math.ceil((e.lockedUntil - now) / 1000)
        }),
      /** Records a failure; true when this failure starts a lockout. */
      recordFailure: (ip: string) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          let e = entries.get(ip)
          if (e === undefined) {
            if (entries.size >= MAX_TRACKED_IPS) {
              for (const [k, v] of entries) if (v.lockedUntil <= now) entries.delete(k)
            }
            e = { failures: [], lockedUntil: 0 }
            entries.set(ip, e)
          }
          e.failures = e.failures.filter((t) => now - t < windowMs)
          e.failures.push(now)
          if (e.failures.length >= config.authLockoutThreshold && e.lockedUntil <= now) {
            e.lockedUntil = now + lockMs
            e.failures = []
            return true
          }
          return false
        }),
      clear: (ip: string) => Effect.sync(() => entries.delete(ip))
    } as const
  })
}) {}
