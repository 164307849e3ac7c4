import * as Schema from "effect/Schema"
import { NonNegativeInt, SecurityTokenField } from "../Domain.ts"
import { AgentId } from "../Ids.ts"

export const GetChannelStatusInput = Schema.Struct({
  agentId: AgentId,
  securityToken: SecurityTokenField
})
export type GetChannelStatusInput = typeof GetChannelStatusInput.Type

export const ChannelStatusOutput = Schema.Struct({
  agentId: Schema.String,
  displayName: Schema.String,
  status: Schema.Literal("active"),
  provisionedAt: Schema.String,
  channels: Schema.Struct({
    phone: Schema.optional(Schema.Struct({
      number: Schema.String,
      status: Schema.Literal("active", "suspended"),
      monthlyMessages: NonNegativeInt
    })),
    whatsapp: Schema.optional(Schema.Struct({
      number: Schema.NullOr(Schema.String),
      status: Schema.Literal("active", "pending_review", "rejected"),
      qualityRating: Schema.String
    })),
    email: Schema.optional(Schema.Struct({
      address: Schema.String,
      status: Schema.Literal("active"),
      deliveryRate: Schema.Number
    })),
    voiceAi: Schema.optional(Schema.Struct({
      status: Schema.Literal("active"),
      totalCallMinutes: Schema.Number
    }))
  }),
  monthlyCost: Schema.Number,
  rateLimits: Schema.Struct({
    actionsThisMinute: NonNegativeInt,
    actionsToday: NonNegativeInt,
    maxPerMinute: NonNegativeInt,
    maxPerDay: NonNegativeInt
  })
})
export type ChannelStatusOutput = typeof ChannelStatusOutput.Type
