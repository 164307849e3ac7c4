import * as Effect from "effect/Effect"
import { MakeCallInput, MakeCallOutput } from "../../../schema/tools/MakeCall.ts"
import { Authenticator } from "../../security/Authenticator.ts"
import { VoiceCalls } from "../../voice/VoiceCalls.ts"
import * as Tool from "../Tool.ts"

export const MakeCall = Tool.make({
  name: "comms_make_call",
  title: "Make a phone call",
  description: "Calls a phone number (or another agent by toAgentId) from the agent's number and holds a live AI " +
    "voice conversation, with `context` injected into the model's prompt. Every guardrail is checked first, before " +
    "anything is dialled: opt-out, do-not-call list, quiet hours (08:00-21:00 local), calls per number per day, rate " +
    "limits and spending caps, each refused with its own error code. Progress is recorded in the call log.",
  input: MakeCallInput,
  output: MakeCallOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  handler: (input, principal) =>
    Effect.gen(function*() {
      yield* (yield* Authenticator).authorizeAgent(principal, input.agentId)
      return yield* (yield* VoiceCalls).makeCall(input.agentId, input)
    })
})
