import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { AgentBehavior } from "../src/agents/AgentBehavior.ts"
import { AgentMemoryRepo } from "../src/agents/AgentMemoryRepo.ts"
import * as ClusterSharding from "../src/agents/cluster/ClusterSharding.ts"
import { AgentRuntimeInfo } from "../src/agents/cluster/RuntimeInfo.ts"
import * as ClusterRuntime from "../src/agents/ClusterRuntime.ts"
import * as InProcessRuntime from "../src/agents/InProcessRuntime.ts"

/**
 * `AGENT_RUNTIME`: `inprocess` (default) or `cluster`. The cluster runtime on embedded PGlite is a
 * one-process cluster in memory; on PostgreSQL it is one durable runner, or one runner among
 * several when CLUSTER_RUNNER_ADDRESS is set (see docs/SCALING.md).
 */
const AgentRuntimeKind = Config.literal("inprocess", "cluster")("AGENT_RUNTIME").pipe(Config.withDefault("inprocess"))

const InProcess = Layer.merge(
  InProcessRuntime.layer,
  Layer.succeed(AgentRuntimeInfo, AgentRuntimeInfo.of({ describe: Effect.succeed({ kind: "in-process" }) }))
)

const Cluster = ClusterRuntime.layer.pipe(Layer.provideMerge(ClusterSharding.layer))

/**
 * The agent runtime: where agents' mailboxes live. The in-process runtime serves the embedded
 * database and single-process PostgreSQL deployments; the cluster runtime shards agents over
 * runner processes on one PostgreSQL. Nothing outside `layers/` knows which one runs.
 */
export const AgentRuntimeLive = Layer.unwrapEffect(
  Effect.map(AgentRuntimeKind, (kind) => kind === "cluster" ? Cluster : InProcess)
).pipe(
  Layer.provide(AgentBehavior.Default),
  Layer.provide(AgentMemoryRepo.Default)
)
