import * as Effect from "effect/Effect"
import * as RcMap from "effect/RcMap"
import type * as Schema from "effect/Schema"
import type { AgentId } from "../../schema/Ids.ts"
import { AppConfig } from "../config/AppConfig.ts"
import * as AgentActor from "./AgentActor.ts"
import { AgentsRepo } from "./AgentsRepo.ts"
import type { AgentCommand } from "./Commands.ts"
import { Provisioning } from "./Provisioning.ts"
import { Outbound } from "../messaging/Outbound.ts"
import type { UsageDashboard } from "../billing/UsageDashboard.ts"
import type { AuditLog } from "../observability/AuditLog.ts"
import type { AgentGuard } from "../policy/AgentGuard.ts"
import type { CallAdmission } from "../voice/CallAdmission.ts"

/**
 * Keeps one actor per agent that has work: started on the first command,
 * passivated after AGENT_IDLE_SECONDS without one, all stopped with the
 * supervisor's scope. Tools and webhooks only ever `send` to it.
 */
export class AgentSupervisor extends Effect.Service<AgentSupervisor>()("app/agents/AgentSupervisor", {
  scoped: Effect.gen(function*() {
    const config = yield* AppConfig
    const context = yield* Effect.context<
      Provisioning | Outbound | AgentsRepo | AgentGuard | UsageDashboard | AuditLog | CallAdmission
    >()
    const actors = yield* RcMap.make({
      lookup: (agentId: AgentId) => AgentActor.make(agentId).pipe(Effect.provide(context)),
      idleTimeToLive: `${config.agentIdleSeconds} seconds`
    })

    const withActor = <A, E>(agentId: AgentId, f: (actor: AgentActor.AgentActor) => Effect.Effect<A, E>) =>
      Effect.scoped(Effect.flatMap(RcMap.get(actors, agentId), f))

    return {
      /** Sends a command to the agent's actor and waits for its reply. */
      send: <C extends AgentCommand>(
        agentId: AgentId,
        command: C
      ): Effect.Effect<Schema.WithResult.Success<C>, Schema.WithResult.Failure<C>> =>
        withActor(agentId, (actor) => actor.ask(command)).pipe(
          Effect.withSpan("AgentSupervisor.send", { attributes: { agentId, command: command._tag } })
        ),
      /** Agents whose actors are alive right now. */
      activeAgents: RcMap.keys(actors),
      /** Crash count of a live actor (starts it if needed). */
      restarts: (agentId: AgentId) => withActor(agentId, (actor) => actor.restarts),
      /** Stops an agent's actor now; the next command starts a fresh one from the database. */
      passivate: (agentId: AgentId) => RcMap.invalidate(actors, agentId)
    } as const
  })
}) {}
