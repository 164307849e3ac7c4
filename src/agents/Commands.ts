import * as PrimaryKey from "effect/PrimaryKey"
import * as Schema from "effect/Schema"
import { randomUUID } from "node:crypto"
import { Capabilities, MessageChannel, PrivacySettings, ProviderOverrides, RouteDuplication } from "../../schema/Domain.ts"
import {
  AlreadyProvisioned,
  ContactLimit,
  ContentBlocked,
  DncListed,
  InvalidInput,
  NotFound,
  OptedOut,
  PoolExhausted,
  ProviderAuth,
  ProviderFailure,
  ProviderThrottled,
  QuietHours,
  RateLimited,
  SpendCapReached,
  WhatsAppTemplateRequired
} from "../../schema/Errors.ts"
import { AgentId, CountryCode } from "../../schema/Ids.ts"
import { MediaType, SendMessageOutput } from "../../schema/tools/SendMessage.ts"
import { LimitsPatch, SetAgentLimitsOutput } from "../../schema/tools/Usage.ts"
import { DeprovisionChannelsOutput } from "../../schema/tools/DeprovisionChannels.ts"
import { ChannelStatusOutput } from "../../schema/tools/GetChannelStatus.ts"
import { ProvisionChannelsOutput } from "../../schema/tools/ProvisionChannels.ts"

/** The idempotency key of a state-changing command (see below). */
const requestId = Schema.optionalWith(Schema.String, { default: () => randomUUID() })

/**
 * The protocol of an agent actor. Each command is a Schema request class, so
 * the same protocol runs on any agent runtime (in-process, or @effect/cluster
 * entities) unchanged. Every per-agent state change and every paid action is
 * one of these commands; `AgentBehavior` gives each its own typed handler.
 *
 * Commands that change state carry a `requestId` (generated when not given) and use it as their
 * `PrimaryKey`: a runtime that may deliver a command twice (a cluster re-delivering a persisted
 * message after its runner died) answers the second delivery with the first one's reply.
 */
export class Provision extends Schema.TaggedRequest<Provision>()("Provision", {
  failure: Schema.Union(AlreadyProvisioned, PoolExhausted, ProviderFailure, InvalidInput),
  success: ProvisionChannelsOutput,
  payload: {
    displayName: Schema.String,
    greeting: Schema.String,
    systemPrompt: Schema.String,
    country: CountryCode,
    capabilities: Capabilities,
    routeDuplication: Schema.optional(RouteDuplication),
    providerOverrides: Schema.optional(ProviderOverrides),
    privacy: Schema.optional(PrivacySettings),
    /** Register the agent's own token and return it (provisioning with the master token). */
    issueToken: Schema.Boolean,
    /** Who asked: "master" or an agentId. */
    actor: Schema.String,
    requestId
  }
}) {
  [PrimaryKey.symbol]() {
    return this.requestId
  }
}

export class Deprovision extends Schema.TaggedRequest<Deprovision>()("Deprovision", {
  failure: Schema.Union(NotFound, ProviderFailure),
  success: DeprovisionChannelsOutput,
  payload: {
    releaseNumber: Schema.Boolean,
    actor: Schema.String,
    requestId
  }
}) {
  [PrimaryKey.symbol]() {
    return this.requestId
  }
}

export class GetStatus extends Schema.TaggedRequest<GetStatus>()("GetStatus", {
  failure: NotFound,
  success: ChannelStatusOutput,
  payload: {}
}) {}

export class SendMessage extends Schema.TaggedRequest<SendMessage>()("SendMessage", {
  failure: Schema.Union(
    NotFound,
    InvalidInput,
    ContentBlocked,
    WhatsAppTemplateRequired,
    ProviderFailure,
    ProviderAuth,
    ProviderThrottled,
    DncListed,
    QuietHours,
    OptedOut,
    ContactLimit
  ),
  success: SendMessageOutput,
  payload: {
    to: Schema.String,
    toAgentId: Schema.optional(AgentId),
    channel: MessageChannel,
    body: Schema.String,
    mediaUrl: Schema.optional(Schema.String),
    mediaType: Schema.optional(MediaType),
    subject: Schema.optional(Schema.String),
    templateId: Schema.optional(Schema.String),
    templateVars: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String })),
    requestId
  }
}) {
  [PrimaryKey.symbol]() {
    return this.requestId
  }
}

/** Changes the agent's limits; the actor's guard state takes them at once. */
export class SetLimits extends Schema.TaggedRequest<SetLimits>()("SetLimits", {
  failure: Schema.Union(NotFound, InvalidInput),
  success: SetAgentLimitsOutput,
  payload: { patch: LimitsPatch, actor: Schema.String, requestId }
}) {
  [PrimaryKey.symbol]() {
    return this.requestId
  }
}

// ── Voice (src/voice/CallAdmission.ts handles these inside the actor) ──────────────────────

/** What an admitted call or voice message holds: its reservation (none for inbound calls) and effective cap. */
export const CallAdmission = Schema.Struct({
  reservationId: Schema.NullOr(Schema.String),
  reservedCost: Schema.Number,
  remaining: Schema.Number,
  at: Schema.Number,
  country: Schema.NullOr(Schema.String),
  /** The call's duration cap: the one asked for, never above the agent's maxCallDurationMinutes. */
  maxMinutes: Schema.Number
})
export type CallAdmission = typeof CallAdmission.Type

/**
 * Admits a call (or a voice message) through every guardrail, in the actor.
 * Outbound: the guard's admit — opt-out, DNC, quiet hours, calls per number per day,
 * rate windows, spending caps — and a reservation. Inbound: the agent must be
 * active and under its spending caps (no reservation; the minutes are logged at the end).
 */
export class AdmitCall extends Schema.TaggedRequest<AdmitCall>()("AdmitCall", {
  failure: Schema.Union(NotFound, InvalidInput, RateLimited, SpendCapReached, DncListed, QuietHours, OptedOut, ContactLimit),
  success: CallAdmission,
  payload: {
    direction: Schema.Literal("outbound", "inbound"),
    /** The other party's number (the caller's, for inbound calls). */
    to: Schema.String,
    toAgentId: Schema.optional(AgentId),
    maxMinutes: Schema.Number,
    purpose: Schema.Literal("live_call", "voice_message", "transfer"),
    /** "whatsapp" only for a voice message delivered as WhatsApp audio. */
    channel: Schema.Literal("voice", "whatsapp"),
    /** Voice messages: the text (its length prices the audio). */
    text: Schema.optional(Schema.String),
    provider: Schema.String
  }
}) {}

/**
 * Settles an admitted call when it ends: the reservation becomes a usage_logs row with the
 * actual cost (connected) or is released (never connected: busy, no-answer, failed). An
 * inbound call's minutes are logged and booked against the spending caps.
 */
export class CallEnded extends Schema.TaggedRequest<CallEnded>()("CallEnded", {
  failure: Schema.Never,
  success: Schema.Struct({ settled: Schema.Boolean }),
  payload: {
    callId: Schema.String,
    admission: CallAdmission,
    connected: Schema.Boolean,
    minutes: Schema.Number,
    cost: Schema.Number,
    actionType: Schema.String,
    channel: Schema.String,
    provider: Schema.String,
    externalId: Schema.NullOr(Schema.String),
    /** Turns spoken by each side (counts only: usage metadata carries no content). */
    turns: Schema.optional(Schema.Struct({ caller: Schema.Number, agent: Schema.Number }))
  }
}) {}

/**
 * An inbound message was accepted (its row and callback committed): the actor updates what it
 * keeps about the contact (WhatsApp 24-hour window, channel counters) and handles the
 * STOP/START/HELP keywords, whose confirmation reply is a metered send of this agent.
 */
export class InboundAccepted extends Schema.TaggedRequest<InboundAccepted>()("InboundAccepted", {
  failure: Schema.Never,
  success: Schema.Void,
  payload: {
    channel: MessageChannel,
    /** The sender's address (PII: never logged). */
    from: Schema.String,
    /** The text, for keyword detection (PII: never logged, never stored by the actor). */
    body: Schema.String,
    /** A provider retry of a message accepted before: state is re-applied, nothing is sent. */
    replay: Schema.Boolean,
    requestId
  }
}) {
  [PrimaryKey.symbol]() {
    return this.requestId
  }
}

/** A message's delivery status changed (provider status callback): cached channel counters are stale. */
export class MessageStatusChanged extends Schema.TaggedRequest<MessageStatusChanged>()("MessageStatusChanged", {
  failure: Schema.Never,
  success: Schema.Void,
  payload: { channel: Schema.optional(MessageChannel) }
}) {}

/** GDPR erasure: the actor drops everything it holds in memory about these spellings of a contact. */
export class ForgetContact extends Schema.TaggedRequest<ForgetContact>()("ForgetContact", {
  failure: Schema.Never,
  success: Schema.Void,
  payload: { variants: Schema.Array(Schema.String), requestId }
}) {
  [PrimaryKey.symbol]() {
    return this.requestId
  }
}

export type AgentCommand =
  | Provision
  | Deprovision
  | GetStatus
  | SendMessage
  | SetLimits
  | InboundAccepted
  | MessageStatusChanged
  | ForgetContact
  | AdmitCall
  | CallEnded

/** Every command class, e.g. for an RPC group (`Rpc.fromTaggedRequest`). */
export const AgentCommands = [
  Provision,
  Deprovision,
  GetStatus,
  SendMessage,
  SetLimits,
  InboundAccepted,
  MessageStatusChanged,
  ForgetContact,
  AdmitCall,
  CallEnded
] as const
