import * as Schema from "effect/Schema"
import { MessageChannel, NonNegativeInt, SecurityTokenField } from "../Domain.ts"
import { AgentId } from "../Ids.ts"

const HttpUrl = Schema.String.pipe(
  Schema.maxLength(2048),
  Schema.filter((s) => {
    try {
      const u = new URL(s)
      return u.protocol === "http:" || u.protocol === "https:" ? undefined : "mediaUrl must be an http(s) URL"
    } catch {
      return "mediaUrl must be an absolute URL"
    }
  })
)

export const MediaType = Schema.Literal("image", "audio", "video", "document")

export const SendMessageInput = Schema.Struct({
  agentId: AgentId,
  securityToken: SecurityTokenField,
  to: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(320)).annotations({
    description: "E.164 phone number, email address, or another agent's agentId (resolved to its number or address)"
  }),
  channel: MessageChannel,
  body: Schema.String.pipe(Schema.maxLength(20000)).annotations({ description: "Text content" }),
  mediaUrl: Schema.optional(HttpUrl.annotations({ description: "URL of an image, audio, video or document to attach" })),
  mediaType: Schema.optional(MediaType),
  subject: Schema.optional(
    Schema.String.pipe(Schema.maxLength(998), Schema.pattern(/^[^\r\n]*$/, { message: () => "subject must be one line" }))
      .annotations({ description: "Email subject (one line)" })
  ),
  templateId: Schema.optional(Schema.String.pipe(Schema.maxLength(200)).annotations({
    description: "Approved WhatsApp template, required outside the 24-hour window"
  })),
  templateVars: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String.pipe(Schema.maxLength(1000)) })),
  toAgentId: Schema.optional(AgentId.annotations({ description: "Send to another of our agents (resolved internally)" }))
})
export type SendMessageInput = typeof SendMessageInput.Type

export const SendMessageOutput = Schema.Struct({
  messageId: Schema.String,
  channel: MessageChannel,
  status: Schema.Literal("sent", "queued", "failed", "rate_limited"),
  cost: Schema.Number,
  timestamp: Schema.String,
  rateLimitRemaining: NonNegativeInt,
  retryAfterSeconds: Schema.optional(Schema.Number),
  reason: Schema.optional(Schema.String),
  toAgentId: Schema.optional(Schema.String)
})
export type SendMessageOutput = typeof SendMessageOutput.Type
