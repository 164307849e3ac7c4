import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as Tracer from "effect/Tracer"
import type { AgentId } from "../../../schema/Ids.ts"
import type { AgentBehavior } from "../AgentBehavior.ts"
import type { AgentState } from "../AgentState.ts"
import type { AgentCommand } from "../Commands.ts"
import type { Continuation, Step } from "../Step.ts"

/** What a job leaves behind: the next state, a crash (reload before the next job), or passivation. */
type Outcome =
  | { readonly _tag: "Next"; readonly state: AgentState }
  | { readonly _tag: "Crashed" }
  | { readonly _tag: "Drop" }

const CRASHED: Outcome = { _tag: "Crashed" }
const DROP: Outcome = { _tag: "Drop" }

/** One unit of work in the mailbox; it answers its own caller. */
interface Job {
  /** False for a notification (skipped when no state is loaded) and for passivation. */
  readonly needsState: boolean
  readonly run: (state: AgentState | undefined) => Effect.Effect<Outcome>
  /** Answers the caller when the job will never run (state unavailable, shutdown). */
  readonly abandon: (cause: Cause.Cause<never>) => Effect.Effect<void>
  readonly span: Option.Option<Tracer.AnySpan>
}

/** One agent's mailbox inside a cluster entity instance (see `ClusterRuntime`). */
export interface AgentMailbox {
  /** Queues the command behind the agent's earlier ones; succeeds or fails with its reply. */
  readonly send: <C extends AgentCommand>(
    command: C
  ) => Effect.Effect<Schema.WithResult.Success<C>, Schema.WithResult.Failure<C>>
  /** Runs the command only if the agent's state is loaded by the time its turn comes; no reply. */
  readonly notify: (command: AgentCommand) => Effect.Effect<void>
  /** Drops the state once the work queued before is done (the next command reloads it). */
  readonly passivate: Effect.Effect<void>
  /** The state is in memory. */
  readonly loaded: () => boolean
  /** Rebuilds after a crash since the state was last loaded from scratch. */
  readonly restarts: () => number
}

/**
 * The per-agent mailbox a cluster entity runs: the same semantics as the in-process runtime's
 * (handlers one at a time; `Suspend`/`then` outside work in fibers this mailbox owns, in order
 * per lane; continuations queued back behind the agent's other commands; a handler defect
 * answers its caller and the state is reloaded from the database before the next command).
 * The entity itself takes its RPCs concurrently and hands them to this queue, so an RPC waiting
 * on a vendor call does not hold the agent. Everything lives in the entity's scope: passivation,
 * a shard moving away or shutdown interrupt the outside work and answer what is still queued.
 */
export const make = (
  agentId: AgentId,
  behavior: AgentBehavior
): Effect.Effect<AgentMailbox, never, Scope.Scope> =>
  Effect.gen(function*() {
    const queue = yield* Effect.acquireRelease(Queue.unbounded<Job>(), (q) =>
      Effect.flatMap(Effect.fiberId, (self) =>
        Effect.flatMap(Queue.takeAll(q), (jobs) =>
          Effect.forEach(jobs, (job) => job.abandon(Cause.interrupt(self)), { discard: true }))))
    const fibers = yield* FiberSet.make()
    const lanes = new Map<string, Deferred.Deferred<void>>()
    let state: AgentState | undefined
    let restarts = 0

    const drain = Effect.gen(function*() {
      while (true) {
        const job = yield* Queue.take(queue)
        if (state === undefined && job.needsState) {
          const loaded = yield* Effect.exit(behavior.load(agentId))
          if (Exit.isFailure(loaded)) {
            // database down? answer everyone waiting; the next command tries again
            const waiting = [job, ...(yield* Queue.takeAll(queue))]
            restarts += 1
            yield* Effect.logError("agent state could not be loaded").pipe(Effect.annotateLogs({ agentId }))
            yield* Effect.forEach(waiting, (j) => j.abandon(Cause.die(new Error("agent state unavailable"))), {
              discard: true
            })
            continue
          }
          state = loaded.value
        }
        const run = job.run(state)
        const outcome = yield* Option.isSome(job.span) ? Effect.withParentSpan(run, job.span.value) : run
        switch (outcome._tag) {
          case "Next":
            state = outcome.state
            break
          case "Drop":
            state = undefined
            restarts = 0
            break
          case "Crashed":
            state = undefined
            restarts += 1
            yield* Effect.logError("agent entity crashed; restarting from the database").pipe(
              Effect.annotateLogs({ agentId, defect: true })
            )
        }
      }
    })
    yield* Effect.forkScoped(drain)

    /** Runs `io` outside the mailbox (after the lane's previous call), then queues its continuation. */
    const startOutside = <A, E>(
      reply: Deferred.Deferred<A, E>,
      io: Effect.Effect<Continuation<A, E>>,
      lane: string | undefined
    ) =>
      Effect.gen(function*() {
        const turn = lane === undefined ? undefined : yield* Deferred.make<void>()
        const previous = lane === undefined ? undefined : lanes.get(lane)
        if (lane !== undefined && turn !== undefined) lanes.set(lane, turn)
        const span = yield* Effect.option(Effect.currentSpan)
        const outside = Effect.gen(function*() {
          if (previous !== undefined) yield* Deferred.await(previous)
          const continuation = yield* io
          yield* Queue.offer(queue, jobFor(reply, continuation, span))
        }).pipe(
          Effect.catchAllCause((cause) => Deferred.failCause(reply, cause)),
          Effect.ensuring(Effect.sync(() => {
            if (lane !== undefined && turn !== undefined) {
              Deferred.unsafeDone(turn, Exit.void)
              if (lanes.get(lane) === turn) lanes.delete(lane)
            }
          }))
        )
        yield* FiberSet.run(fibers, outside)
      })

    const applyStep = <A, E>(reply: Deferred.Deferred<A, E>, step: Step<A, E>) =>
      Effect.gen(function*() {
        switch (step._tag) {
          case "Done": {
            yield* Deferred.succeed(reply, step.value)
            if (step.then !== undefined) {
              const background = yield* Deferred.make<void>()
              yield* startOutside(background, step.then.io, step.then.lane)
            }
            return step.state
          }
          case "Failed": {
            yield* Deferred.fail(reply, step.error)
            return step.state
          }
          case "Suspend": {
            yield* startOutside(reply, step.io, step.lane)
            return step.state
          }
        }
      })

    const jobFor = <A, E>(
      reply: Deferred.Deferred<A, E>,
      handle: Continuation<A, E>,
      span: Option.Option<Tracer.AnySpan>,
      needsState = true
    ): Job => ({
      needsState,
      span,
      abandon: (cause) => Deferred.failCause(reply, cause),
      run: (current) =>
        current === undefined
          // a notification for an agent with nothing in memory: nothing to refresh
          ? Effect.as(Deferred.interrupt(reply), DROP)
          : Effect.exit(handle(current)).pipe(
            Effect.flatMap((exit): Effect.Effect<Outcome> =>
              Exit.isSuccess(exit)
                ? Effect.map(applyStep(reply, exit.value), (next) => ({ _tag: "Next", state: next }))
                : Effect.as(
                  Deferred.failCause(reply, exit.cause),
                  // a typed failure leaves the state as it was; a defect crashes the agent
                  Cause.isDie(exit.cause) ? CRASHED : { _tag: "Next", state: current }
                )
            ),
            Effect.onInterrupt(() => Deferred.interrupt(reply))
          )
    })

    return {
      send: <C extends AgentCommand>(command: C) =>
        Effect.gen(function*() {
          const reply = yield* Deferred.make<Schema.WithResult.Success<C>, Schema.WithResult.Failure<C>>()
          const span = yield* Effect.option(Effect.currentSpan)
          yield* Queue.offer(queue, jobFor(reply, (s) => behavior.handle(s, command), span))
          return yield* Deferred.await(reply)
        }),
      notify: (command) =>
        Effect.gen(function*() {
          const reply = yield* Deferred.make<unknown, unknown>()
          yield* Queue.offer(
            queue,
            jobFor(reply, (s) => behavior.handle(s, command), Option.none(), false)
          )
        }),
      passivate: Effect.flatMap(Deferred.make<void>(), (done) =>
        Effect.zipRight(
          Queue.offer(queue, {
            needsState: false,
            span: Option.none(),
            abandon: () => Deferred.complete(done, Effect.void),
            run: () => Effect.as(Deferred.succeed(done, undefined), DROP)
          }),
          Deferred.await(done)
        )),
      loaded: () => state !== undefined,
      restarts: () => restarts
    } satisfies AgentMailbox
  })
