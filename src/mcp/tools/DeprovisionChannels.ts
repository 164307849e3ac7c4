import { DeprovisionChannelsInput, DeprovisionChannelsOutput } from "../../../schema/tools/DeprovisionChannels.ts"
import { Deprovision } from "../../agents/Commands.ts"
import * as Tool from "../Tool.ts"
import { sendAsAgent } from "./agentCommand.ts"

export const DeprovisionChannels = Tool.make({
  name: "comms_deprovision_channels",
  title: "Deprovision an agent",
  description: "Tears down an agent's channels, revokes all its tokens and returns its pool slot. With " +
    "releaseNumber the phone number, inbox and voice app go back to the provider; without it they stay " +
    "reserved for this agentId. Needs the agent's own token or the master token.",
  input: DeprovisionChannelsInput,
  output: DeprovisionChannelsOutput,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  handler: (input, principal) =>
    sendAsAgent(
      principal,
      input.agentId,
      new Deprovision({
        releaseNumber: input.releaseNumber ?? false,
        actor: principal._tag === "Master" ? "master" : principal.agentId
      })
    )
})
