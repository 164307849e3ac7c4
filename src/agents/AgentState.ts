import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { AgentId } from "../../schema/Ids.ts"
import { AgentGuard, type GuardState } from "../policy/AgentGuard.ts"
import { type AgentRecord, AgentsRepo } from "./AgentsRepo.ts"

/**
 * What an agent actor holds in memory between commands. Everything in it is
 * written through to the database, so a restarted actor rebuilds it with
 * `load`. Live calls join it in a later release.
 */
export interface AgentState {
  readonly agentId: AgentId
  /** The active channel record; None when the agent is not (or no longer) provisioned. */
  readonly record: Option.Option<AgentRecord>
  /** Rate windows, spend (settled and reserved), limits and today's per-number call counts. */
  readonly guard: GuardState
}

export const load = (agentId: AgentId) =>
  Effect.gen(function*() {
    const repo = yield* AgentsRepo
    const guard = yield* AgentGuard
    const record = yield* repo.find(agentId)
    return {
      agentId,
      record: Option.filter(record, (r) => r.status === "active"),
      guard: yield* guard.load(agentId)
    } satisfies AgentState
  })
