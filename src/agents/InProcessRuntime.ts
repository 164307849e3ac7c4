import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Schema from "effect/Schema"
import type * as Tracer from "effect/Tracer"
import type { AgentId } from "../../schema/Ids.ts"
import { AppConfig } from "../config/AppConfig.ts"
import { AgentBehavior } from "./AgentBehavior.ts"
import { AgentRuntime } from "./AgentRuntime.ts"
import type { AgentState } from "./AgentState.ts"
import type { AgentCommand } from "./Commands.ts"
import type { Continuation, Step } from "./Step.ts"

/** Commands one agent may have waiting before senders are held back. */
const MAILBOX_CAPACITY = 1024
/** Agents whose idle time ends within this interval are passivated by the same sweep. */
const SWEEP_GRANULARITY_MS = 1000

/** One unit of work in an agent's mailbox; it answers its own caller. */
interface Job {
  /** Runs on the agent's state; None when the handler died (the actor crashed: reload the state). */
  readonly run: (state: AgentState) => Effect.Effect<Option.Option<AgentState>>
  /** Answers the caller when the job will never run (state unavailable, shutdown). */
  readonly abandon: (cause: Cause.Cause<never>) => Effect.Effect<void>
  /** The caller's span: the job's spans hang under the request that sent it. */
  readonly span: Option.Option<Tracer.AnySpan>
}

/** One agent on this process: plain data, no fiber of its own while it has nothing to do. */
interface Entry {
  state: AgentState | undefined
  readonly mailbox: Array<Job>
  /** A fiber is taking jobs from the mailbox. */
  draining: boolean
  /** Provider calls (and other outside work) under way for this agent. */
  inflight: number
  /** The last outside call of each ordered lane (e.g. one recipient), while one is under way. */
  lanes: Map<string, Deferred.Deferred<void>> | undefined
  lastActive: number
  restarts: number
}

/**
 * The lean in-process agent runtime for a single process (the embedded default). An agent is a
 * map entry holding its state and a mailbox; a fiber drains the mailbox only while it has mail, so
 * an idle agent costs its state and a few objects. Handlers run one at a time per agent (that is
 * what makes check-and-reserve exact without locks); their outside work (vendor calls) runs in
 * fibers of this runtime and comes back through the mailbox. A handler that dies answers its
 * caller with the defect, and the agent's state is rebuilt from the database before its next
 * command. One sweeper passivates agents idle for AGENT_IDLE_SECONDS.
 */
export const layer: Layer.Layer<AgentRuntime, never, AgentBehavior | AppConfig> = Layer.scoped(
  AgentRuntime,
  Effect.gen(function*() {
    const behavior = yield* AgentBehavior
    const config = yield* AppConfig
    const fibers = yield* FiberSet.make()
    const entries = new Map<AgentId, Entry>()
    const idleMs = config.agentIdleSeconds * 1000

    const entryOf = (agentId: AgentId, now: number): Entry => {
      let entry = entries.get(agentId)
      if (entry === undefined) {
        entry = { state: undefined, mailbox: [], draining: false, inflight: 0, lanes: undefined, lastActive: now, restarts: 0 }
        entries.set(agentId, entry)
        if (wake !== undefined) {
          Deferred.unsafeDone(wake, Exit.void)
          wake = undefined
        }
      }
      return entry
    }

    const isIdle = (entry: Entry) => !entry.draining && entry.inflight === 0 && entry.mailbox.length === 0

    /** Takes jobs until the mailbox is empty, (re)loading the state first when there is none. */
    const drain = (agentId: AgentId, entry: Entry): Effect.Effect<void> =>
      Effect.gen(function*() {
        while (true) {
          const job = entry.mailbox.shift()
          if (job === undefined) {
            entry.draining = false
            entry.lastActive = yield* Clock.currentTimeMillis
            return
          }
          if (entry.state === undefined) {
            const loaded = yield* Effect.exit(behavior.load(agentId))
            if (Exit.isFailure(loaded)) {
              // database down? answer everyone waiting rather than leave them hanging; the next
              // command tries again
              const waiting = [job, ...entry.mailbox.splice(0)]
              entry.restarts += 1
              entry.draining = false
              yield* Effect.logError("agent state could not be loaded").pipe(Effect.annotateLogs({ agentId }))
              yield* Effect.forEach(waiting, (j) => j.abandon(Cause.die(new Error("agent state unavailable"))), {
                discard: true
              })
              return
            }
            entry.state = loaded.value
          }
          const run = job.run(entry.state)
          const next = yield* Option.isSome(job.span) ? Effect.withParentSpan(run, job.span.value) : run
          if (Option.isSome(next)) {
            entry.state = next.value
          } else {
            entry.state = undefined
            entry.restarts += 1
            yield* Effect.logError("agent actor crashed; restarting from the database").pipe(
              Effect.annotateLogs({ agentId, defect: true })
            )
          }
        }
      })

    const enqueue = (agentId: AgentId, job: Job): Effect.Effect<void> =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        let entry = entryOf(agentId, now)
        while (entry.mailbox.length >= MAILBOX_CAPACITY) {
          yield* Effect.sleep("5 millis")
          entry = entryOf(agentId, now)
        }
        entry.mailbox.push(job)
        entry.lastActive = now
        if (!entry.draining) {
          entry.draining = true
          yield* FiberSet.run(fibers, drain(agentId, entry))
        }
      })

    /** Runs `io` outside the mailbox (after the lane's previous call), then queues its continuation. */
    const startOutside = <A, E>(
      agentId: AgentId,
      entry: Entry,
      reply: Deferred.Deferred<A, E>,
      io: Effect.Effect<Continuation<A, E>>,
      lane: string | undefined
    ) =>
      Effect.gen(function*() {
        entry.inflight += 1
        const turn = lane === undefined ? undefined : yield* Deferred.make<void>()
        const previous = lane === undefined ? undefined : entry.lanes?.get(lane)
        if (lane !== undefined && turn !== undefined) (entry.lanes ??= new Map()).set(lane, turn)
        const span = yield* Effect.option(Effect.currentSpan)
        const outside = Effect.gen(function*() {
          if (previous !== undefined) yield* Deferred.await(previous)
          const continuation = yield* io
          yield* enqueue(agentId, jobFor(agentId, reply, continuation, span))
        }).pipe(
          // the outside work died (an adapter bug) or the runtime is stopping: answer the caller
          Effect.catchAllCause((cause) => Deferred.failCause(reply, cause)),
          Effect.ensuring(Effect.sync(() => {
            entry.inflight -= 1
            if (lane !== undefined && turn !== undefined) {
              Deferred.unsafeDone(turn, Exit.void)
              if (entry.lanes?.get(lane) === turn) entry.lanes.delete(lane)
              if (entry.lanes?.size === 0) entry.lanes = undefined
            }
          }))
        )
        yield* FiberSet.run(fibers, outside)
      })

    /** Applies a handler's step: answer, or start the outside work; returns the next state. */
    const applyStep = <A, E>(agentId: AgentId, reply: Deferred.Deferred<A, E>, step: Step<A, E>) =>
      Effect.gen(function*() {
        const entry = entryOf(agentId, yield* Clock.currentTimeMillis)
        switch (step._tag) {
          case "Done": {
            yield* Deferred.succeed(reply, step.value)
            if (step.then !== undefined) {
              const background = yield* Deferred.make<void>()
              yield* startOutside(agentId, entry, background, step.then.io, step.then.lane)
            }
            return step.state
          }
          case "Failed": {
            yield* Deferred.fail(reply, step.error)
            return step.state
          }
          case "Suspend": {
            yield* startOutside(agentId, entry, reply, step.io, step.lane)
            return step.state
          }
        }
      })

    const jobFor = <A, E>(
      agentId: AgentId,
      reply: Deferred.Deferred<A, E>,
      handle: Continuation<A, E>,
      span: Option.Option<Tracer.AnySpan>
    ): Job => ({
      span,
      abandon: (cause) => Deferred.failCause(reply, cause),
      run: (state) =>
        Effect.exit(handle(state)).pipe(
          Effect.flatMap((exit) =>
            Exit.isSuccess(exit)
              ? Effect.map(applyStep(agentId, reply, exit.value), Option.some)
              : Effect.as(
                Deferred.failCause(reply, exit.cause),
                // a typed failure leaves the state as it was; a defect crashes the actor
                Cause.isDie(exit.cause) ? Option.none() : Option.some(state)
              )
          ),
          // stopped mid-command (shutdown): the caller still gets an answer
          Effect.onInterrupt(() => Deferred.interrupt(reply))
        )
    })

    /**
     * Passivation: one sweeper drops agents idle for AGENT_IDLE_SECONDS (their state reloads on the
     * next command). It sleeps until the earliest agent could expire, and waits for the first
     * agent when there is none, so it costs nothing when nothing can expire.
     */
    let wake: Deferred.Deferred<void> | undefined
    const sweeper = Effect.gen(function*() {
      while (true) {
        const now = yield* Clock.currentTimeMillis
        let next = Number.POSITIVE_INFINITY
        for (const [agentId, entry] of entries) {
          if (!isIdle(entry)) next = Math.min(next, now + idleMs)
          else if (entry.lastActive + idleMs <= now) entries.delete(agentId)
          else next = Math.min(next, entry.lastActive + idleMs)
        }
        if (next === Number.POSITIVE_INFINITY) {
          const signal = yield* Deferred.make<void>()
          wake = signal
          yield* Deferred.await(signal)
        } else {
          yield* Effect.sleep(Math.max(next - now, SWEEP_GRANULARITY_MS))
        }
      }
    })
    yield* Effect.forkScoped(sweeper)

    // Commands still queued when the runtime stops are answered, never left hanging.
    yield* Effect.addFinalizer(() =>
      Effect.flatMap(Effect.fiberId, (self) =>
        Effect.forEach(
          [...entries.values()].flatMap((entry) => entry.mailbox.splice(0)),
          (job) => job.abandon(Cause.interrupt(self)),
          { discard: true }
        ))
    )

    return AgentRuntime.of({
      send: <C extends AgentCommand>(agentId: AgentId, command: C) =>
        Effect.gen(function*() {
          const reply = yield* Deferred.make<Schema.WithResult.Success<C>, Schema.WithResult.Failure<C>>()
          const span = yield* Effect.option(Effect.currentSpan)
          yield* enqueue(agentId, jobFor(agentId, reply, (state) => behavior.handle(state, command), span))
          return yield* Deferred.await(reply)
        }).pipe(Effect.withSpan("AgentRuntime.send", { attributes: { agentId, command: command._tag } })),
      notifyIfActive: <C extends AgentCommand>(agentId: AgentId, command: C) =>
        Effect.gen(function*() {
          if (entries.get(agentId)?.state === undefined) return
          const reply = yield* Deferred.make<Schema.WithResult.Success<C>, Schema.WithResult.Failure<C>>()
          yield* enqueue(agentId, jobFor(agentId, reply, (state) => behavior.handle(state, command), Option.none()))
        }),
      activeAgents: Effect.sync(() => [...entries.keys()]),
      restarts: (agentId) => Effect.sync(() => entries.get(agentId)?.restarts ?? 0),
      passivate: (agentId) =>
        Effect.sync(() => {
          const entry = entries.get(agentId)
          if (entry === undefined) return
          if (isIdle(entry)) entries.delete(agentId)
          else entry.lastActive = Number.NEGATIVE_INFINITY
        })
    })
  })
)
