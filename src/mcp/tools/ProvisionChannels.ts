import * as Effect from "effect/Effect"
import { ProvisionChannelsInput, ProvisionChannelsOutput } from "../../../schema/tools/ProvisionChannels.ts"
import { AgentRuntime } from "../../agents/AgentRuntime.ts"
import { Provision } from "../../agents/Commands.ts"
import { Authenticator } from "../../security/Authenticator.ts"
import * as Tool from "../Tool.ts"

export const ProvisionChannels = Tool.make({
  name: "comms_provision_channels",
  title: "Provision an agent's channels",
  description: "Registers a new agent and provisions its channels (phone number + SMS, WhatsApp sender, " +
    "email inbox, live voice AI) as its capabilities ask. Takes one slot of the agent pool. Requires the " +
    "master token; the agent's own securityToken is returned once in the output — store it.",
  input: ProvisionChannelsInput,
  output: ProvisionChannelsOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  handler: (input, principal) =>
    Effect.gen(function*() {
      const auth = yield* Authenticator
      yield* auth.requireMaster(principal, "registering a new agent")
      const runtime = yield* AgentRuntime
      return yield* runtime.send(
        input.agentId,
        new Provision({
          displayName: input.displayName,
          greeting: input.greeting,
          systemPrompt: input.systemPrompt,
          country: input.country,
          capabilities: input.capabilities,
          routeDuplication: input.routeDuplication,
          providerOverrides: input.providerOverrides,
          privacy: input.privacy,
          issueToken: true,
          actor: "master"
        })
      )
    })
})
