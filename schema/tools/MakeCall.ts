import * as Schema from "effect/Schema"
import { SecurityTokenField } from "../Domain.ts"
import { AgentId } from "../Ids.ts"

export const MakeCallInput = Schema.Struct({
  agentId: AgentId,
  securityToken: SecurityTokenField,
  to: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64)).annotations({
    description: "E.164 number to call, or another agent's agentId"
  }),
  context: Schema.String.pipe(Schema.maxLength(4000)).annotations({
    description: "Why the agent is calling; injected into the model's prompt for this call"
  }),
  voice: Schema.optional(Schema.String.pipe(Schema.maxLength(100)).annotations({ description: "TTS voice id (default: the server's)" })),
  maxDurationMinutes: Schema.optionalWith(
    Schema.Number.pipe(Schema.greaterThan(0), Schema.lessThanOrEqualTo(240)).annotations({
      description: "Call duration limit in minutes (default 10; never above the agent's maxCallDurationMinutes)"
    }),
    { default: () => 10 }
  ),
  toAgentId: Schema.optional(AgentId.annotations({ description: "Call another of our agents (resolved to its number)" })),
  routeDuplication: Schema.optional(Schema.Struct({
    alsoRecord: Schema.Boolean.annotations({ description: "Record this call in parallel with the live conversation" })
  }))
})
export type MakeCallInput = typeof MakeCallInput.Type

export const MakeCallOutput = Schema.Struct({
  callSid: Schema.String,
  status: Schema.Literal("initiated", "ringing", "in-progress"),
  from: Schema.String,
  to: Schema.String,
  maxDurationMinutes: Schema.Number,
  toAgentId: Schema.optional(Schema.String)
})
export type MakeCallOutput = typeof MakeCallOutput.Type
