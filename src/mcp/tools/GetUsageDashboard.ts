import * as Effect from "effect/Effect"
import { GetUsageDashboardInput, UsageDashboardOutput } from "../../../schema/tools/Usage.ts"
import { UsageDashboard } from "../../billing/UsageDashboard.ts"
import { Authenticator } from "../../security/Authenticator.ts"
import * as Tool from "../Tool.ts"

export const GetUsageDashboard = Tool.make({
  name: "comms_get_usage_dashboard",
  title: "Usage and costs",
  description: "Actions, costs per channel, rate-limit hits and current limits for one agent or (master token) " +
    "all agents, for today, this week, this month or all time (UTC). An agent token reads its own agent only.",
  input: GetUsageDashboardInput,
  output: UsageDashboardOutput,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handler: (input, principal) =>
    Effect.gen(function*() {
      const auth = yield* Authenticator
      const dashboard = yield* UsageDashboard
      // an agent token without agentId means "my own"; all agents needs the master token
      const agentId = input.agentId ?? (principal._tag === "Agent" ? principal.agentId : undefined)
      if (agentId === undefined) yield* auth.requireMaster(principal, "the all-agents dashboard")
      else yield* auth.authorizeAgent(principal, agentId)
      return yield* dashboard.dashboard({ agentId, period: input.period })
    })
})
