import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Schema from "effect/Schema"
import type { AgentId } from "../../schema/Ids.ts"
import type { AgentCommand } from "./Commands.ts"

/**
 * Where agents run. Tools, webhooks and admin routes only ever `send` commands here; which
 * runtime serves them (in-process actors over the embedded database, or entities sharded over
 * runner processes) is chosen in `layers/`. Either way one agent's commands are handled one at a
 * time, in order, by the one owner of its state, and different agents run in parallel.
 */
export class AgentRuntime extends Context.Tag("app/agents/AgentRuntime")<AgentRuntime, {
  /** Queues the command behind the agent's earlier ones and waits for its reply. */
  readonly send: <C extends AgentCommand>(
    agentId: AgentId,
    command: C
  ) => Effect.Effect<Schema.WithResult.Success<C>, Schema.WithResult.Failure<C>>
  /**
   * Delivers a command that only refreshes what a running agent keeps in memory (e.g. cached
   * counters gone stale), without waiting, and only if the agent is running: an agent not in
   * memory has nothing to refresh and is not started for it.
   */
  readonly notifyIfActive: <C extends AgentCommand>(agentId: AgentId, command: C) => Effect.Effect<void>
  /** Agents whose state is in memory on this process right now. */
  readonly activeAgents: Effect.Effect<ReadonlyArray<AgentId>>
  /** How many times the agent's state was rebuilt after a crash since it was last started here. */
  readonly restarts: (agentId: AgentId) => Effect.Effect<number>
  /** Drops the agent's state from memory once its queued and in-flight work is done; the next command reloads it. */
  readonly passivate: (agentId: AgentId) => Effect.Effect<void>
}>() {}
