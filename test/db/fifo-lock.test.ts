/**
 * The PGlite connection lock serves waiters first-in-first-out: a fiber that needs many short
 * turns is not starved by 32 busy fibers (with Effect's semaphore a releasing fiber takes the lock
 * again before the woken waiters run), and interruption never loses the lock.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestServices from "effect/TestServices"
import * as Database from "../../src/db/Database.ts"
import * as FifoLock from "../../src/db/FifoLock.ts"

/** Largest number of `busy` entries between two consecutive `bg` entries. */
const longestWait = (log: ReadonlyArray<"bg" | "busy">): number => {
  let run = -1 // before the first `bg` it had not asked yet
  let worst = 0
  for (const e of log) {
    if (e === "bg") {
      worst = Math.max(worst, run)
      run = 0
    } else if (run >= 0) run++
  }
  return worst
}

const BUSY = 32
const TURNS = 40
const LIMIT = 10_000

/**
 * 32 fibers take turns in a tight loop while a background fiber takes `TURNS` turns; returns the
 * log of who ran when. `turn` runs one short unit of work holding the lock.
 */
const contend = <E, R>(turn: (who: "bg" | "busy") => Effect.Effect<void, E, R>) =>
  Effect.gen(function*() {
    const log: Array<"bg" | "busy"> = []
    // busy fibers stop on their own after LIMIT turns in all (no timers: a CPU-only loop of
    // fibers would keep the event loop from firing them), so a starved background fiber shows up
    // as a long wait instead of a hang
    const busyTurn = Effect.zipRight(turn("busy"), Effect.sync(() => log.push("busy")))
    for (let i = 0; i < BUSY; i++) {
      yield* Effect.forkScoped(Effect.whileLoop({ while: () => log.length < LIMIT, body: () => busyTurn, step: () => {} }))
    }
    // let the busy fibers saturate the lock first
    yield* Effect.repeatN(Effect.yieldNow(), 64)
    for (let i = 0; i < TURNS; i++) {
      yield* turn("bg")
      log.push("bg")
    }
    return log
  }).pipe(Effect.scoped)

describe("FifoLock", () => {
  it.effect("grants in arrival order", () =>
    Effect.gen(function*() {
      const lock = yield* FifoLock.make
      const order: Array<number> = []
      yield* lock.take
      const fibers = yield* Effect.forEach([1, 2, 3, 4, 5], (n) =>
        Effect.fork(lock.withLock(Effect.sync(() => order.push(n)))), { concurrency: 1 })
      yield* Effect.yieldNow()
      expect(yield* lock.waiting).toBe(5)
      yield* lock.release
      yield* Fiber.joinAll(fibers)
      expect(order).toEqual([1, 2, 3, 4, 5])
      expect(yield* lock.waiting).toBe(0)
    }))

  it.effect("an interrupted waiter leaves the queue; the lock is never lost", () =>
    Effect.gen(function*() {
      const lock = yield* FifoLock.make
      yield* lock.take
      const a = yield* Effect.fork(lock.withLock(Effect.void))
      const b = yield* Effect.fork(lock.withLock(Effect.succeed("b")))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(a)
      expect(yield* lock.waiting).toBe(1)
      yield* lock.release
      expect(yield* Fiber.join(b)).toBe("b")
      // free again: an immediate take succeeds
      yield* lock.withLock(Effect.void)
      // a holder interrupted while holding releases through withLock's finalizer
      const started = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(lock.withLock(Effect.zipRight(Deferred.succeed(started, undefined), Effect.never)))
      yield* Deferred.await(started)
      const next = yield* Effect.fork(lock.withLock(Effect.succeed("next")))
      yield* Fiber.interrupt(holder)
      expect(yield* Fiber.join(next)).toBe("next")
    }))

  it.effect("handed over at the moment of interruption: passed on, not lost", () =>
    Effect.gen(function*() {
      const lock = yield* FifoLock.make
      yield* lock.take
      const a = yield* Effect.fork(lock.withLock(Effect.never))
      const b = yield* Effect.fork(lock.withLock(Effect.succeed("b")))
      yield* Effect.yieldNow()
      // release hands the lock to `a` synchronously; interrupt `a` before it runs: either its
      // wait's canceler or withLock's finalizer must pass the lock on
      yield* Effect.zipRight(lock.release, Fiber.interrupt(a))
      expect(yield* Fiber.join(b)).toBe("b")
    }))

  it.live("a fiber needing many short turns waits at most one turn per busy fiber", () =>
    Effect.gen(function*() {
      const lock = yield* FifoLock.make
      const log = yield* contend(() => lock.withLock(Effect.yieldNow()))
      expect(log.filter((e) => e === "bg")).toHaveLength(TURNS)
      expect(longestWait(log)).toBeLessThanOrEqual(BUSY)
    }))
})

layer(Database.layerPglite(undefined), { timeout: 120_000 })("PGlite connection lock", (it) => {
  it.effect("the outbox-like fiber gets its turns while 32 fibers run statements back to back", () =>
    TestServices.provideLive(Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const log = yield* contend(() => Effect.asVoid(sql`SELECT 1`.pipe(Effect.orDie)))
      expect(log.filter((e) => e === "bg")).toHaveLength(TURNS)
      // a turn is logged when its fiber resumes after the statement, which may come after the
      // next holder's turn: at most one turn per busy fiber, twice over
      expect(longestWait(log)).toBeLessThanOrEqual(2 * BUSY)
    })))
})
