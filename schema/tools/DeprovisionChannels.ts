import * as Schema from "effect/Schema"
import { NonNegativeInt, SecurityTokenField } from "../Domain.ts"
import { AgentId } from "../Ids.ts"

export const DeprovisionChannelsInput = Schema.Struct({
  agentId: AgentId,
  securityToken: SecurityTokenField,
  releaseNumber: Schema.optional(Schema.Boolean).annotations({
    description: "Return the phone number and addresses to the provider (default false: they stay reserved for this agentId)"
  })
})
export type DeprovisionChannelsInput = typeof DeprovisionChannelsInput.Type

export const DeprovisionChannelsOutput = Schema.Struct({
  agentId: Schema.String,
  status: Schema.Literal("deprovisioned"),
  releasedNumber: Schema.Boolean,
  tokensRevoked: NonNegativeInt,
  poolSlotsRemaining: NonNegativeInt,
  deprovisionedAt: Schema.String
})
export type DeprovisionChannelsOutput = typeof DeprovisionChannelsOutput.Type
