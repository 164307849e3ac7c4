import * as Schema from "effect/Schema"
import { MediaItem, NonNegativeInt, SecurityTokenField } from "../Domain.ts"
import { AgentId } from "../Ids.ts"

export const GetMessagesInput = Schema.Struct({
  agentId: AgentId,
  securityToken: SecurityTokenField,
  channel: Schema.optional(Schema.Literal("sms", "whatsapp", "email", "voice", "all")),
  contactNumber: Schema.optional(Schema.String.pipe(Schema.maxLength(320)).annotations({
    description: "Only messages with this phone number or email address"
  })),
  since: Schema.optional(Schema.String.pipe(
    Schema.filter((s) => !Number.isNaN(Date.parse(s)) || "since must be an ISO 8601 date-time")
  ).annotations({ description: "ISO 8601 date-time" })),
  limit: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.between(1, 200)).annotations({
    description: "Default 50, at most 200"
  }))
})
export type GetMessagesInput = typeof GetMessagesInput.Type

export const MessageView = Schema.Struct({
  id: Schema.String,
  channel: Schema.String,
  direction: Schema.Literal("inbound", "outbound"),
  from: Schema.String,
  to: Schema.String,
  body: Schema.NullOr(Schema.String).annotations({
    description: "null unless the agent owner opted in to body storage for this channel"
  }),
  subject: Schema.optional(Schema.String),
  mediaUrl: Schema.optional(Schema.String),
  mediaType: Schema.optional(Schema.String),
  media: Schema.Array(MediaItem),
  fromAgentId: Schema.optional(Schema.String),
  timestamp: Schema.String,
  status: Schema.String
})

export const GetMessagesOutput = Schema.Struct({
  messages: Schema.Array(MessageView),
  totalCount: NonNegativeInt
})
export type GetMessagesOutput = typeof GetMessagesOutput.Type
