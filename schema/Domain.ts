import * as Schema from "effect/Schema"

export const Capabilities = Schema.Struct({
  phone: Schema.Boolean.annotations({ description: "Phone number for voice calls and SMS/MMS" }),
  whatsapp: Schema.Boolean.annotations({ description: "WhatsApp sender (assigned from the sender pool)" }),
  email: Schema.Boolean.annotations({ description: "Email inbox and sending identity" }),
  voiceAi: Schema.Boolean.annotations({ description: "Live two-way AI voice on the phone number" })
})
export type Capabilities = typeof Capabilities.Type

export const RouteDuplication = Schema.Struct({
  liveCall: Schema.optional(Schema.Struct({
    alsoRecord: Schema.Boolean,
    recordingStorage: Schema.optional(Schema.String)
  })),
  sms: Schema.optional(Schema.Struct({
    mirrorTo: Schema.optional(Schema.String.annotations({ description: "URL that receives a copy of every outbound SMS" }))
  })),
  email: Schema.optional(Schema.Struct({
    bccTo: Schema.optional(Schema.String.annotations({ description: "Address BCC'd on every outbound email" }))
  }))
})
export type RouteDuplication = typeof RouteDuplication.Type

export const ProviderOverrides = Schema.Struct({
  telephony: Schema.optional(Schema.String),
  email: Schema.optional(Schema.String),
  tts: Schema.optional(Schema.String),
  stt: Schema.optional(Schema.String)
})
export type ProviderOverrides = typeof ProviderOverrides.Type

export const NonNegativeInt = Schema.Number.pipe(Schema.int(), Schema.nonNegative())

/** A security token as the tools accept it: the `securityToken` argument (or the connection's Bearer). */
export const SecurityTokenField = Schema.optional(
  Schema.String.pipe(Schema.maxLength(512)).annotations({
    description: "The agent's security token (or the master token). May instead be sent as 'Authorization: Bearer' on the MCP HTTP connection."
  })
)

export const MessageChannel = Schema.Literal("sms", "whatsapp", "email")
export type MessageChannel = typeof MessageChannel.Type

/** Opt-in storage of message bodies (encrypted, deleted after the retention). Off by default. */
export const PrivacySettings = Schema.Struct({
  storeBodies: Schema.Array(MessageChannel).annotations({
    description: "Channels whose message bodies are stored (AES-256-GCM encrypted). Empty: routing metadata only."
  }),
  retentionDays: Schema.optionalWith(Schema.Number.pipe(Schema.int(), Schema.between(1, 3650)), {
    default: () => 30
  }).annotations({ description: "Days a stored body is kept before it is deleted (default 30)" })
})
export type PrivacySettings = typeof PrivacySettings.Type

/** One attachment of a message: where it is and what it is. */
export const MediaItem = Schema.Struct({ url: Schema.String, contentType: Schema.String })
export type MediaItem = typeof MediaItem.Type
