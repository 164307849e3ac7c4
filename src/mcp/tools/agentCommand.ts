import * as Effect from "effect/Effect"
import type * as Schema from "effect/Schema"
import type { AgentSuspended, Forbidden } from "../../../schema/Errors.ts"
import type { AgentId } from "../../../schema/Ids.ts"
import { AgentRuntime } from "../../agents/AgentRuntime.ts"
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
  Authenticator | AgentRuntime
> =>
  Effect.gen(function*() {
    const auth = yield* Authenticator
    yield* auth.authorizeAgent(principal, agentId)
    const runtime = yield* AgentRuntime
    return yield* runtime.send(agentId, command)
  })
