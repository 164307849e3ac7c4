import * as ClusterSchema from "@effect/cluster/ClusterSchema"
import * as Entity from "@effect/cluster/Entity"
import type * as Sharding from "@effect/cluster/Sharding"
import * as Rpc from "@effect/rpc/Rpc"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { AgentId } from "../../schema/Ids.ts"
import { AppConfig } from "../config/AppConfig.ts"
import { AgentBehavior } from "./AgentBehavior.ts"
import { AgentRuntime } from "./AgentRuntime.ts"
import * as AgentMailbox from "./cluster/AgentMailbox.ts"
import {
  type AgentCommand,
  AgentCommands,
  Deprovision,
  ForgetContact,
  GetStatus,
  InboundAccepted,
  MessageStatusChanged,
  Provision,
  SendMessage,
  SetLimits
} from "./Commands.ts"


/**
 * The agent as a cluster entity. Its RPCs are the agent protocol: every state-changing command is
 * persisted (stored in the message table before delivery, its reply stored too) and keyed by its
 * `requestId`, so a message redelivered after a runner died answers with the first reply instead
 * of acting twice. Reads and cache refreshes are volatile. Two internal RPCs serve the runtime's
 * `notifyIfActive` and `passivate`.
 */
export const AgentEntity = Entity.make("Agent", [
  Rpc.fromTaggedRequest(Provision).annotate(ClusterSchema.Persisted, true),
  Rpc.fromTaggedRequest(Deprovision).annotate(ClusterSchema.Persisted, true),
  Rpc.fromTaggedRequest(GetStatus),
  Rpc.fromTaggedRequest(SendMessage).annotate(ClusterSchema.Persisted, true),
  Rpc.fromTaggedRequest(SetLimits).annotate(ClusterSchema.Persisted, true),
  Rpc.fromTaggedRequest(InboundAccepted).annotate(ClusterSchema.Persisted, true),
  Rpc.fromTaggedRequest(MessageStatusChanged),
  Rpc.fromTaggedRequest(ForgetContact).annotate(ClusterSchema.Persisted, true),
  Rpc.make("NotifyIfActive", { payload: { command: Schema.Union(...AgentCommands) } }),
  Rpc.make("Passivate")
])

/** Entity instances on this process, for `activeAgents` / `restarts`. */
type Registry = Map<AgentId, AgentMailbox.AgentMailbox>

/** Errors of the cluster itself (not of the command): they become defects of `send`. */
const CLUSTER_ERRORS: ReadonlySet<string> = new Set([
  "MailboxFull",
  "AlreadyProcessingMessage",
  "PersistenceError",
  "EntityNotAssignedToRunner",
  "RunnerUnavailable",
  "RunnerNotRegistered",
  "MalformedMessage",
  "RpcClientError"
])

const isClusterError = (u: unknown): boolean =>
  typeof u === "object" && u !== null && "_tag" in u && typeof u._tag === "string" && CLUSTER_ERRORS.has(u._tag)

/** The entity's handlers: every RPC goes into the agent's own mailbox (see `AgentMailbox`). */
const entityLayer = (registry: Registry, idleSeconds: number) =>
  AgentEntity.toLayer(
    Effect.gen(function*() {
      const behavior = yield* AgentBehavior
      const address = yield* Entity.CurrentAddress
      const agentId = AgentId.make(address.entityId)
      const mailbox = yield* AgentMailbox.make(agentId, behavior)
      registry.set(agentId, mailbox)
      yield* Effect.addFinalizer(() => Effect.sync(() => registry.get(agentId) === mailbox && registry.delete(agentId)))
      return AgentEntity.of({
        Provision: (req) => mailbox.send(req.payload),
        Deprovision: (req) => mailbox.send(req.payload),
        GetStatus: (req) => mailbox.send(req.payload),
        SendMessage: (req) => mailbox.send(req.payload),
        SetLimits: (req) => mailbox.send(req.payload),
        InboundAccepted: (req) => mailbox.send(req.payload),
        MessageStatusChanged: (req) => mailbox.send(req.payload),
        ForgetContact: (req) => mailbox.send(req.payload),
        NotifyIfActive: (req) => mailbox.notify(req.payload.command),
        Passivate: () => mailbox.passivate
      })
    }),
    {
      // RPCs are taken concurrently; the mailbox serializes the handlers (an RPC waiting on a
      // vendor call must not hold the agent's other commands)
      concurrency: "unbounded",
      // a handler defect answers its caller once; it is never replayed in a loop
      disableFatalDefects: true,
      // idle instances stop after AGENT_IDLE_SECONDS; their state reloads on the next command
      maxIdleTime: Duration.seconds(idleSeconds)
    }
  )

/**
 * The agent runtime on @effect/cluster: each agent is an `Agent` entity living on the runner that
 * owns its shard; `send` goes through the cluster's client wherever that is. Needs `Sharding`
 * (chosen in `layers/Runtime.ts`: in memory for one process, SQL storage across runners).
 */
export const layer: Layer.Layer<AgentRuntime, never, AgentBehavior | AppConfig | Sharding.Sharding> = Layer
  .unwrapEffect(Effect.gen(function*() {
    const config = yield* AppConfig
    const registry: Registry = new Map()
    const runtime = Layer.effect(
      AgentRuntime,
      Effect.gen(function*() {
        const makeClient = yield* AgentEntity.client
        /**
         * The RPC client's methods are keyed by tag; TypeScript cannot relate a generic command's
         * tag to its method, so the call is made through this one view (payload and reply are the
         * command's own schema on both ends).
         */
        type Call = (payload: unknown, options?: { readonly discard?: boolean }) => Effect.Effect<unknown, unknown>
        const call = (agentId: AgentId, tag: string): Call =>
          (makeClient(agentId) as unknown as Record<string, Call>)[tag] as Call

        return AgentRuntime.of({
          send: <C extends AgentCommand>(agentId: AgentId, command: C) =>
            call(agentId, command._tag)(command).pipe(
              Effect.catchIf(isClusterError, (e) => Effect.die(e)),
              Effect.withSpan("AgentRuntime.send", { attributes: { agentId, command: command._tag } })
            ) as Effect.Effect<Schema.WithResult.Success<C>, Schema.WithResult.Failure<C>>,
          notifyIfActive: (agentId, command) =>
            call(agentId, "NotifyIfActive")({ command }, { discard: true }).pipe(Effect.ignore),
          activeAgents: Effect.sync(() => [...registry].filter(([, m]) => m.loaded()).map(([id]) => id)),
          restarts: (agentId) => Effect.sync(() => registry.get(agentId)?.restarts() ?? 0),
          passivate: (agentId) => call(agentId, "Passivate")(undefined).pipe(Effect.orDie)
        })
      })
    )
    return Layer.merge(runtime, entityLayer(registry, config.agentIdleSeconds))
  }))
  .pipe(Layer.annotateLogs({ runtime: "cluster" }))
