import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"

/** What /health/ready reports about where agents run on this process. */
export interface RuntimeDescription {
  readonly kind: "in-process" | "cluster"
  /** The cluster runner's address ("memory"/"single" for a one-process cluster). */
  readonly runner?: string | undefined
  /** Shards this runner owns right now, of `shardsPerGroup`. */
  readonly shards?: number | undefined
  readonly shardsPerGroup?: number | undefined
}

/** Describes the agent runtime chosen in `layers/Runtime.ts` (for health and metrics only). */
export class AgentRuntimeInfo extends Context.Tag("app/agents/AgentRuntimeInfo")<AgentRuntimeInfo, {
  readonly describe: Effect.Effect<RuntimeDescription>
}>() {}
