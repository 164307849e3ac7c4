import * as Schema from "effect/Schema"
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
  ProviderFailure,
  QuietHours,
  WhatsAppTemplateRequired
} from "../../schema/Errors.ts"
import { AgentId, CountryCode } from "../../schema/Ids.ts"
import { MediaType, SendMessageOutput } from "../../schema/tools/SendMessage.ts"
import { LimitsPatch, SetAgentLimitsOutput } from "../../schema/tools/Usage.ts"
import { DeprovisionChannelsOutput } from "../../schema/tools/DeprovisionChannels.ts"
import { ChannelStatusOutput } from "../../schema/tools/GetChannelStatus.ts"
import { ProvisionChannelsOutput } from "../../schema/tools/ProvisionChannels.ts"

/**
 * The protocol of an agent actor. Each command is a Schema request class, so
 * the same protocol can later run on @effect/cluster entities unchanged. Later
 * commands (send, call, limits) join this union.
 */
export class Provision extends Schema.TaggedRequest<Provision>()("Provision", {
  failure: Schema.Union(AlreadyProvisioned, PoolExhausted, ProviderFailure),
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
    actor: Schema.String
  }
}) {}

export class Deprovision extends Schema.TaggedRequest<Deprovision>()("Deprovision", {
  failure: Schema.Union(NotFound, ProviderFailure),
  success: DeprovisionChannelsOutput,
  payload: {
    releaseNumber: Schema.Boolean,
    actor: Schema.String
  }
}) {}

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
    templateVars: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String }))
  }
}) {}

/** Changes the agent's limits; the actor's guard state takes them at once. */
export class SetLimits extends Schema.TaggedRequest<SetLimits>()("SetLimits", {
  failure: Schema.Union(NotFound, InvalidInput),
  success: SetAgentLimitsOutput,
  payload: { patch: LimitsPatch, actor: Schema.String }
}) {}

export type AgentCommand = Provision | Deprovision | GetStatus | SendMessage | SetLimits
