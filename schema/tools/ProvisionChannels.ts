import * as Schema from "effect/Schema"
import { Capabilities, NonNegativeInt, PrivacySettings, ProviderOverrides, RouteDuplication, SecurityTokenField } from "../Domain.ts"
import { AgentId, CountryCode } from "../Ids.ts"

export const ProvisionChannelsInput = Schema.Struct({
  agentId: AgentId,
  securityToken: SecurityTokenField,
  displayName: Schema.String.pipe(
    Schema.minLength(1),
    Schema.maxLength(120),
    Schema.pattern(/^[^\r\n]*$/, { message: () => "displayName must be one line" })
  ).annotations({
    description: "Business name, used for the WhatsApp profile"
  }),
  greeting: Schema.String.pipe(Schema.maxLength(1000)).annotations({ description: "Voice greeting for inbound calls" }),
  systemPrompt: Schema.String.pipe(Schema.maxLength(20000)).annotations({
    description: "LLM system prompt for voice AI conversations"
  }),
  country: CountryCode,
  capabilities: Capabilities,
  routeDuplication: Schema.optional(RouteDuplication),
  providerOverrides: Schema.optional(ProviderOverrides),
  privacy: Schema.optional(PrivacySettings)
})
export type ProvisionChannelsInput = typeof ProvisionChannelsInput.Type

const Active = Schema.Literal("active")

export const ProvisionedChannels = Schema.Struct({
  phone: Schema.optional(Schema.Struct({ number: Schema.String, status: Active })),
  sms: Schema.optional(Schema.Struct({ number: Schema.String, status: Active })),
  whatsapp: Schema.optional(Schema.Struct({
    number: Schema.NullOr(Schema.String),
    status: Schema.Literal("pending_review", "active")
  })),
  email: Schema.optional(Schema.Struct({ address: Schema.String, status: Active })),
  voiceAi: Schema.optional(Schema.Struct({ appSid: Schema.String, status: Active }))
})
export type ProvisionedChannels = typeof ProvisionedChannels.Type

export const ProvisionChannelsOutput = Schema.Struct({
  agentId: Schema.String,
  channels: ProvisionedChannels,
  securityToken: Schema.optional(Schema.String).annotations({
    description: "The agent's own security token. Returned once, when a new agent is registered with the master token; store it."
  }),
  tokenExpiresAt: Schema.optional(Schema.String),
  poolSlotsRemaining: NonNegativeInt,
  provisionedAt: Schema.String
})
export type ProvisionChannelsOutput = typeof ProvisionChannelsOutput.Type
