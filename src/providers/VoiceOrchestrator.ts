import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { AgentId } from "../../schema/Ids.ts"
import type { ProviderError, ProviderHealth } from "./ProviderError.ts"

/** Port: the live-voice application that bridges a call to our voice WebSocket. */
export class VoiceOrchestrator extends Context.Tag("app/providers/VoiceOrchestrator")<VoiceOrchestrator, {
  readonly provider: string
  /** Creates (or returns the existing) voice app of the agent. */
  readonly createApp: (req: {
    readonly agentId: AgentId
    readonly voiceUrl: string
    readonly websocketUrl: string
  }) => Effect.Effect<{ readonly appSid: string }, ProviderError>
  readonly deleteApp: (agentId: AgentId) => Effect.Effect<void, ProviderError>
  readonly health: Effect.Effect<ProviderHealth>
}>() {}
