import { SendMessageInput, SendMessageOutput } from "../../../schema/tools/SendMessage.ts"
import { SendMessage as SendMessageCommand } from "../../agents/Commands.ts"
import * as Tool from "../Tool.ts"
import { sendAsAgent } from "./agentCommand.ts"

export const SendMessage = Tool.make({
  name: "comms_send_message",
  title: "Send a message",
  description: "Sends an SMS (MMS with mediaUrl), WhatsApp message or email from the agent's own number or " +
    "inbox to a phone number, an email address or another agent (by agentId). Every send passes the content " +
    "filter and the agent's limits first. WhatsApp outside the contact's 24-hour window needs an approved " +
    "templateId. Needs the agent's own token (or the master token).",
  input: SendMessageInput,
  output: SendMessageOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  handler: (input, principal) =>
    sendAsAgent(
      principal,
      input.agentId,
      new SendMessageCommand({
        to: input.to,
        toAgentId: input.toAgentId,
        channel: input.channel,
        body: input.body,
        mediaUrl: input.mediaUrl,
        mediaType: input.mediaType,
        subject: input.subject,
        templateId: input.templateId,
        templateVars: input.templateVars
      })
    )
})
