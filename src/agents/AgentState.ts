import type * as Option from "effect/Option"
import type { AgentId } from "../../schema/Ids.ts"
import type { GuardState } from "../policy/AgentGuard.ts"
import type { ChannelCounters } from "./AgentMemoryRepo.ts"
import type { AgentRecord } from "./AgentsRepo.ts"

/** Channel counters as of a UTC month; the actor keeps them current after one read. */
export interface CachedCounters extends ChannelCounters {
  readonly monthStart: number
}

/**
 * What an agent actor holds in memory between commands. Everything in it is either written
 * through to the database or derived from it, so a restarted (or moved) actor rebuilds it with
 * `AgentBehavior.load`. Idle agents share the empty maps.
 */
export interface AgentState {
  readonly agentId: AgentId
  /** The active channel record; None when the agent is not (or no longer) provisioned. */
  readonly record: Option.Option<AgentRecord>
  /** Rate windows, spend (settled and reserved), limits and today's per-recipient counts. */
  readonly guard: GuardState
  /** WhatsApp contacts → time of their last inbound message (the 24-hour free-text window). */
  readonly whatsappWindow: ReadonlyMap<string, number>
  /** Keyword confirmation replies sent: `<contact>\n<action>` → when (one per hour at most). */
  readonly keywordReplies: ReadonlyMap<string, number>
  /** Counters for `comms_get_channel_status`; undefined until first read or after they went stale. */
  readonly counters: CachedCounters | undefined
}

export const EMPTY_TIMES: ReadonlyMap<string, number> = new Map()

/** A copy of `map` without the entries `drop` selects (the same map when nothing is dropped). */
export const dropKeys = <V>(
  map: ReadonlyMap<string, V>,
  drop: (key: string, value: V) => boolean,
  empty: ReadonlyMap<string, V>
): ReadonlyMap<string, V> => {
  let next: Map<string, V> | undefined
  for (const [k, v] of map) {
    if (drop(k, v)) {
      next ??= new Map(map)
      next.delete(k)
    }
  }
  return next === undefined ? map : next.size === 0 ? empty : next
}
