import * as Effect from "effect/Effect"
import { SendVoiceMessageInput, SendVoiceMessageOutput } from "../../../schema/tools/SendVoiceMessage.ts"
import { Authenticator } from "../../security/Authenticator.ts"
import { VoiceMessages } from "../../voice/VoiceMessages.ts"
import * as Tool from "../Tool.ts"

export const SendVoiceMessage = Tool.make({
  name: "comms_send_voice_message",
  title: "Send a voice message",
  description: "Turns text into speech and delivers it as a phone call that plays it (optionally recording the " +
    "reply) or as a WhatsApp audio message. Returns a signed audioUrl that expires. Guardrails as for calls; the " +
    "speech and the delivery are both charged.",
  input: SendVoiceMessageInput,
  output: SendVoiceMessageOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  handler: (input, principal) =>
    Effect.gen(function*() {
      yield* (yield* Authenticator).authorizeAgent(principal, input.agentId)
      return yield* (yield* VoiceMessages).send(input.agentId, input)
    })
})
