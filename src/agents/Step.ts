import type * as Effect from "effect/Effect"
import type { AgentState } from "./AgentState.ts"

/**
 * What a command handler hands back to the agent runtime. Handlers run inside the agent's
 * mailbox (one at a time per agent); a handler that must wait on the outside world (a vendor's
 * network call) does not do it there: it returns `Suspend`, the runtime runs `io` in a fiber it
 * owns, outside the mailbox, and queues the continuation `io` produced behind the agent's other
 * commands. The caller is answered when a step is `Done`.
 */
export type Step<A, E> = Done<A> | Failed<E> | Suspend<A, E>

/** Reply now with `value`; the agent's state becomes `state`. `then` is work that goes on after the reply. */
export interface Done<A> {
  readonly _tag: "Done"
  readonly value: A
  readonly state: AgentState
  readonly then?: Background | undefined
}

/** Work that goes on after the caller was answered: `io` outside the mailbox, its continuation inside. */
export interface Background {
  readonly io: Effect.Effect<Continuation<void, never>>
  readonly lane?: string | undefined
}

/** Reply with the failure `error`, and the state still becomes `state` (a handler failing with `E` leaves it as it was). */
export interface Failed<E> {
  readonly _tag: "Failed"
  readonly error: E
  readonly state: AgentState
}

/**
 * The state becomes `state` now; `io` runs outside the mailbox and yields the continuation to run
 * back inside it. Suspensions of one agent with the same `lane` run their `io` in order (sends to
 * one recipient keep their order at the provider); other lanes and other commands go on meanwhile.
 */
export interface Suspend<A, E> {
  readonly _tag: "Suspend"
  readonly state: AgentState
  readonly io: Effect.Effect<Continuation<A, E>>
  readonly lane?: string | undefined
}

/** Runs inside the mailbox, on the agent's state as it is by then. */
export type Continuation<A, E> = (state: AgentState) => Effect.Effect<Step<A, E>, E>

export const done = <A>(value: A, state: AgentState, then?: Background): Done<A> => ({
  _tag: "Done",
  value,
  state,
  then
})

export const failed = <E>(error: E, state: AgentState): Failed<E> => ({ _tag: "Failed", error, state })

export const suspend = <A, E>(
  state: AgentState,
  io: Effect.Effect<Continuation<A, E>>,
  lane?: string
): Suspend<A, E> => ({ _tag: "Suspend", state, io, lane })
