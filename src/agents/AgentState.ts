import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { AgentId } from "../../schema/Ids.ts"
import { type AgentRecord, AgentsRepo } from "./AgentsRepo.ts"

/**
 * What an agent actor holds in memory between commands. Everything in it is
 * written through to the database, so a restarted actor rebuilds it with
 * `load`. Rate windows, spend and live calls join it in later releases.
 */
export interface AgentState {
  readonly agentId: AgentId
  /** The active channel record; None when the agent is not (or no longer) provisioned. */
  readonly record: Option.Option<AgentRecord>
}

export const load = (agentId: AgentId) =>
  Effect.gen(function*() {
    const repo = yield* AgentsRepo
    const record = yield* repo.find(agentId)
    return {
      agentId,
      record: Option.filter(record, (r) => r.status === "active")
    } satisfies AgentState
  })
