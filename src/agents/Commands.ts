import * as Schema from "effect/Schema"
import { Capabilities, PrivacySettings, ProviderOverrides, RouteDuplication } from "../../schema/Domain.ts"
import { AlreadyProvisioned, NotFound, PoolExhausted, ProviderFailure } from "../../schema/Errors.ts"
import { CountryCode } from "../../schema/Ids.ts"
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

export type AgentCommand = Provision | Deprovision | GetStatus
