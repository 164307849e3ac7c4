import * as Schema from "effect/Schema"
import { SecurityTokenField } from "../Domain.ts"
import { AgentId } from "../Ids.ts"

export const SendVoiceMessageInput = Schema.Struct({
  agentId: AgentId,
  securityToken: SecurityTokenField,
  to: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64)).annotations({ description: "E.164 number or another agent's agentId" }),
  text: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(4000)).annotations({ description: "Text to convert to speech" }),
  deliveryChannel: Schema.Literal("phone_call", "whatsapp_audio"),
  voice: Schema.optional(Schema.String.pipe(Schema.maxLength(100)).annotations({ description: "TTS voice id" })),
  recordResponse: Schema.optional(Schema.Boolean.annotations({ description: "Phone: record the person's reply after the message" }))
})
export type SendVoiceMessageInput = typeof SendVoiceMessageInput.Type

export const SendVoiceMessageOutput = Schema.Struct({
  messageId: Schema.String,
  audioUrl: Schema.String.annotations({ description: "Signed URL of the generated audio; it expires" }),
  durationSeconds: Schema.Number,
  deliveryStatus: Schema.Literal("sent", "queued"),
  cost: Schema.Number
})
export type SendVoiceMessageOutput = typeof SendVoiceMessageOutput.Type
