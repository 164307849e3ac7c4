import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type { AgentId } from "../../schema/Ids.ts"
import { UsageDashboard } from "../billing/UsageDashboard.ts"
import { AuditLog } from "../observability/AuditLog.ts"
import { AgentGuard } from "../policy/AgentGuard.ts"
import type { AgentsRepo } from "./AgentsRepo.ts"
import { type AgentState, load } from "./AgentState.ts"
import type { AgentCommand } from "./Commands.ts"
import { Outbound } from "../messaging/Outbound.ts"
import { Provisioning } from "./Provisioning.ts"
import { CallAdmission } from "../voice/CallAdmission.ts"

type Reply<C extends AgentCommand> = Exit.Exit<Schema.WithResult.Success<C>, Schema.WithResult.Failure<C>>

interface Envelope {
  readonly command: AgentCommand
  readonly reply: Deferred.Deferred<unknown, unknown>
}

/** How many commands may wait in one agent's mailbox before senders are slowed down. */
const MAILBOX_CAPACITY = 1024

export interface AgentActor {
  readonly agentId: AgentId
  /** Queues the command behind the agent's earlier ones and waits for its reply. */
  readonly ask: <C extends AgentCommand>(
    command: C
  ) => Effect.Effect<Schema.WithResult.Success<C>, Schema.WithResult.Failure<C>>
  /** How many times the actor crashed and rebuilt its state from the database. */
  readonly restarts: Effect.Effect<number>
}

/**
 * One agent's actor: a fiber that takes commands from a mailbox one at a
 * time, so everything an agent does is serialized without locks, while other
 * agents' actors run in parallel. A defect while handling a command is
 * answered to its sender, then the actor restarts and reloads its state from
 * the database before taking the next command. The fiber lives in the given
 * scope: closing it (passivation, shutdown) interrupts the actor.
 */
export const make = (agentId: AgentId): Effect.Effect<
  AgentActor,
  never,
  Scope.Scope | Provisioning | Outbound | AgentsRepo | AgentGuard | UsageDashboard | AuditLog | CallAdmission
> =>
  Effect.gen(function*() {
    const provisioning = yield* Provisioning
    const outbound = yield* Outbound
    const usage = yield* UsageDashboard
    const guard = yield* AgentGuard
    const audit = yield* AuditLog
    const calls = yield* CallAdmission
    const mailbox = yield* Queue.bounded<Envelope>(MAILBOX_CAPACITY)
    const restarts = yield* Ref.make(0)
    const loaded = yield* Ref.make(false)
    const context = yield* Effect.context<AgentsRepo | AgentGuard>()

    const handle = (
      state: AgentState,
      command: AgentCommand
    ): Effect.Effect<readonly [unknown, AgentState], unknown> => {
      switch (command._tag) {
        case "Provision":
          return provisioning.provision(state, command)
        case "Deprovision":
          return provisioning.deprovision(state, command)
        case "GetStatus":
          return Effect.map(provisioning.status(state), (out) => [out, state] as const)
        case "SendMessage":
          return outbound.send(state, command)
        case "SetLimits":
          return Effect.gen(function*() {
            const out = yield* usage.setLimits(state.agentId, command.patch)
            yield* audit.append({
              eventType: "admin_action",
              actor: command.actor,
              target: state.agentId,
              details: { action: "set_limits", ...out.limits }
            })
            return [out, { ...state, guard: guard.withLimits(state.guard, out.limits) }] as const
          })
        case "AdmitCall":
          return calls.admit(state, command)
        case "CallEnded":
          return calls.ended(state, command)
      }
    }

    /** Runs until a command dies; the state lives only as long as this run. */
    const run = Effect.gen(function*() {
      yield* Ref.set(loaded, false)
      let state = yield* load(agentId).pipe(Effect.provide(context))
      yield* Ref.set(loaded, true)
      while (true) {
        const { command, reply } = yield* Queue.take(mailbox)
        const exit = yield* Effect.exit(handle(state, command)).pipe(
          // the actor stopping mid-command (shutdown, passivation) still answers its caller
          Effect.onInterrupt(() => Deferred.interrupt(reply))
        )
        if (Exit.isSuccess(exit)) {
          state = exit.value[1]
          yield* Deferred.succeed(reply, exit.value[0])
        } else {
          yield* Deferred.failCause(reply, exit.cause)
          if (Cause.isDie(exit.cause)) {
            // a defect, not a domain error: crash (as a failure, so the supervision retry sees it) and rebuild
            return yield* Effect.fail(exit.cause)
          }
        }
      }
    })

    yield* run.pipe(
      // a failed state load is a crash too; interruption (passivation, shutdown) is not
      Effect.sandbox,
      Effect.tapError((cause) =>
        Cause.isInterruptedOnly(cause) ? Effect.void : Effect.zipRight(
          Effect.zipRight(
            Ref.update(restarts, (n) => n + 1),
            // the state could not even be loaded (database down?): answer who is waiting rather than
            // leave them hanging while the actor keeps retrying in the background
            Effect.flatMap(Ref.get(loaded), (ok) =>
              ok ? Effect.void : Queue.takeAll(mailbox).pipe(
                Effect.flatMap(Effect.forEach((e) => Deferred.die(e.reply, new Error("agent state unavailable")), {
                  discard: true
                }))
              ))
          ),
          Effect.logError("agent actor crashed; restarting from the database").pipe(
            Effect.annotateLogs({
              agentId,
              // the sandboxed failure carries the command's own cause
              defect: Cause.isDie(cause) || Chunk.some(Cause.failures(cause), Cause.isDie)
            })
          )
        )
      ),
      Effect.retry({
        while: (cause) => !Cause.isInterruptedOnly(cause),
        schedule: Schedule.exponential("10 millis").pipe(Schedule.union(Schedule.spaced("1 second")))
      }),
      Effect.forkScoped
    )

    // Commands still queued when the actor stops are answered, never left hanging.
    yield* Effect.addFinalizer(() =>
      Queue.takeAll(mailbox).pipe(
        Effect.flatMap(Effect.forEach((e) => Deferred.interrupt(e.reply), { discard: true })),
        Effect.zipRight(Queue.shutdown(mailbox))
      )
    )

    return {
      agentId,
      restarts: Ref.get(restarts),
      ask: <C extends AgentCommand>(command: C) =>
        Effect.gen(function*() {
          const reply = yield* Deferred.make<unknown, unknown>()
          yield* Queue.offer(mailbox, { command, reply })
          const exit = (yield* Effect.exit(Deferred.await(reply))) as Reply<C>
          return yield* exit
        })
    } satisfies AgentActor
  })
