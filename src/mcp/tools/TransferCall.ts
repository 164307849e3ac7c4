import * as Effect from "effect/Effect"
import { TransferCallInput, TransferCallOutput } from "../../../schema/tools/TransferCall.ts"
import { Authenticator } from "../../security/Authenticator.ts"
import { VoiceCalls } from "../../voice/VoiceCalls.ts"
import * as Tool from "../Tool.ts"

export const TransferCall = Tool.make({
  name: "comms_transfer_call",
  title: "Transfer a live call to a human",
  description: "Hands a live AI call of this agent to a human's phone number, optionally after an announcement to " +
    "the caller. The AI session ends with the handoff; the provider dials the human. The human's number passes the " +
    "same guardrails as an outbound call (do-not-call, quiet hours, limits).",
  input: TransferCallInput,
  output: TransferCallOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  handler: (input, principal) =>
    Effect.gen(function*() {
      yield* (yield* Authenticator).authorizeAgent(principal, input.agentId)
      return yield* (yield* VoiceCalls).transfer(input.agentId, input)
    })
})
