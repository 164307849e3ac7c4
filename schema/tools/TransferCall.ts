import * as Schema from "effect/Schema"
import { SecurityTokenField } from "../Domain.ts"
import { AgentId } from "../Ids.ts"

export const TransferCallInput = Schema.Struct({
  agentId: AgentId,
  securityToken: SecurityTokenField,
  callSid: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64)).annotations({ description: "The live call (from comms_make_call or the inbound call)" }),
  transferTo: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(32)).annotations({ description: "The human's E.164 number" }),
  announcement: Schema.optional(
    Schema.String.pipe(Schema.maxLength(500)).annotations({ description: "Said to the caller before connecting" })
  )
})
export type TransferCallInput = typeof TransferCallInput.Type

export const TransferCallOutput = Schema.Struct({
  callSid: Schema.String,
  status: Schema.Literal("transferring"),
  transferTo: Schema.String
})
export type TransferCallOutput = typeof TransferCallOutput.Type
