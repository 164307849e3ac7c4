import { ChannelStatusOutput, GetChannelStatusInput } from "../../../schema/tools/GetChannelStatus.ts"
import { GetStatus } from "../../agents/Commands.ts"
import * as Tool from "../Tool.ts"
import { sendAsAgent } from "./agentCommand.ts"

export const GetChannelStatus = Tool.make({
  name: "comms_get_channel_status",
  title: "Channel status of an agent",
  description: "Provisioning and health status of an agent's channels, this month's cost and its rate-limit " +
    "usage. Needs the agent's own token or the master token.",
  input: GetChannelStatusInput,
  output: ChannelStatusOutput,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handler: (input, principal) =>
    sendAsAgent(principal, input.agentId, new GetStatus())
})
