import * as Effect from "effect/Effect"
import { SetAgentLimitsInput, SetAgentLimitsOutput } from "../../../schema/tools/Usage.ts"
import { AgentRuntime } from "../../agents/AgentRuntime.ts"
import { SetLimits } from "../../agents/Commands.ts"
import { Authenticator } from "../../security/Authenticator.ts"
import * as Tool from "../Tool.ts"

export const SetAgentLimits = Tool.make({
  name: "comms_set_agent_limits",
  title: "Set an agent's limits",
  description: "Sets an agent's rate limits (per minute/hour/day), spending caps (USD per day/month), call " +
    "duration cap and calls per day to the same number; omitted limits keep their value. Takes effect on the " +
    "agent's next action. Requires the master token: an agent cannot change its own limits.",
  input: SetAgentLimitsInput,
  output: SetAgentLimitsOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handler: (input, principal) =>
    Effect.gen(function*() {
      const auth = yield* Authenticator
      yield* auth.requireMaster(principal, "changing an agent's limits")
      const runtime = yield* AgentRuntime
      return yield* runtime.send(input.agentId, new SetLimits({ patch: input.limits, actor: "master" }))
    })
})
