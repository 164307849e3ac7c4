import * as Effect from "effect/Effect"
import type * as Schema from "effect/Schema"
import type { AgentSuspended, Forbidden } from "../../../schema/Errors.ts"
import type { AgentId } from "../../../schema/Ids.ts"
import { AgentSupervisor } from "../../agents/AgentSupervisor.ts"
import type { AgentCommand } from "../../agents/Commands.ts"
import { type Principal, Authenticator } from "../../security/Authenticator.ts"

/**
 * The shape of every agent-scoped tool: the impersonation guard (the caller
 * must be this agent or the master), then the command to the agent's actor.
 */
export const sendAsAgent = <C extends AgentCommand>(
  principal: Principal,
  agentId: AgentId,
  command: C
): Effect.Effect<
  Schema.WithResult.Success<C>,
  Schema.WithResult.Failure<C> | Forbidden | AgentSuspended,
  Authenticator | AgentSupervisor
> =>
  Effect.gen(function*() {
    const auth = yield* Authenticator
    yield* auth.authorizeAgent(principal, agentId)
    const supervisor = yield* AgentSupervisor
    return yield* supervisor.send(agentId, command)
  })
