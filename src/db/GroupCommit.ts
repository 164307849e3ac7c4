/**
 * Group commit: writes that arrive close together share ONE transaction.
 *
 * Callers `submit` an item and wait for its own result. One fiber takes every pending item (up to
 * `maxBatch`) and runs them together with `runBatch` (which the caller makes one transaction with
 * multi-row statements). Items that arrive while a batch runs form the next batch, so an idle
 * server adds no latency and a busy one commits many requests per transaction (on PGlite's single
 * connection, one lock turn and one commit instead of one per request).
 *
 * When a batch fails, its items run again one by one with `runOne` (each its own transaction):
 * one bad item fails alone and the others are not lost.
 *
 * @since 0.3.0
 */
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"

/**
 * @since 0.3.0
 * @category models
 */
export interface GroupCommit<I, O, E> {
  /** Queues `item` for the next batch and waits for its result. */
  readonly submit: (item: I) => Effect.Effect<O, E>
}

interface Pending<I, O, E> {
  readonly item: I
  readonly done: Deferred.Deferred<O, E>
}

/**
 * `runBatch` gets the items in arrival order and must answer one result per item, in the same
 * order. The writer fiber lives in the given scope.
 *
 * @since 0.3.0
 * @category constructors
 */
export const make = <I, O, E, R>(options: {
  readonly maxBatch: number
  readonly runBatch: (items: ReadonlyArray<I>) => Effect.Effect<ReadonlyArray<O>, E, R>
  readonly runOne: (item: I) => Effect.Effect<O, E, R>
}): Effect.Effect<GroupCommit<I, O, E>, never, Scope.Scope | R> =>
  Effect.gen(function*() {
    const queue = yield* Queue.unbounded<Pending<I, O, E>>()
    yield* Effect.addFinalizer(() => Queue.shutdown(queue))

    const complete = (pending: Pending<I, O, E>, exit: Exit.Exit<O, E>) => Deferred.done(pending.done, exit)

    const runBatch = (batch: ReadonlyArray<Pending<I, O, E>>) =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(options.runBatch(batch.map((p) => p.item)))
        if (Exit.isSuccess(exit) && exit.value.length === batch.length) {
          yield* Effect.forEach(batch, (p, i) => complete(p, Exit.succeed(exit.value[i] as O)), { discard: true })
          return
        }
        if (batch.length === 1 && Exit.isFailure(exit)) {
          yield* complete(batch[0]!, Exit.failCause(exit.cause))
          return
        }
        if (Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause)) {
          yield* Effect.logWarning("group commit: batch failed, writing its items one by one").pipe(
            Effect.annotateLogs({ items: batch.length })
          )
        }
        // one by one: each item its own transaction, so a bad one fails alone
        yield* Effect.forEach(
          batch,
          (p) => Effect.flatMap(Effect.exit(options.runOne(p.item)), (one) => complete(p, one)),
          { discard: true }
        )
      })

    const writer = Effect.gen(function*() {
      const first = yield* Queue.take(queue)
      const rest = yield* Queue.takeUpTo(queue, options.maxBatch - 1)
      yield* runBatch([first, ...rest])
    }).pipe(Effect.forever)

    yield* Effect.forkScoped(Effect.interruptible(writer))

    const submit = (item: I): Effect.Effect<O, E> =>
      Effect.flatMap(Deferred.make<O, E>(), (done) =>
        Effect.zipRight(Queue.offer(queue, { item, done }), Deferred.await(done)))

    return { submit }
  })
