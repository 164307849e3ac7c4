import * as Layer from "effect/Layer"
import { AgentBehavior } from "../src/agents/AgentBehavior.ts"
import { AgentMemoryRepo } from "../src/agents/AgentMemoryRepo.ts"
import * as InProcessRuntime from "../src/agents/InProcessRuntime.ts"

/**
 * The agent runtime: where agents' mailboxes live. The in-process runtime serves the embedded
 * database and single-process PostgreSQL deployments; nothing outside `layers/` knows which one runs.
 */
export const AgentRuntimeLive = InProcessRuntime.layer.pipe(
  Layer.provide(AgentBehavior.Default),
  Layer.provide(AgentMemoryRepo.Default)
)
