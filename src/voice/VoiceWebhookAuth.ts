import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { AgentId } from "../../schema/Ids.ts"
import type { TelephonyAdapter } from "../providers/Adapters.ts"
import { ProviderRegistry } from "../providers/ProviderRegistry.ts"
import type { WebhookRequest } from "../providers/Telephony.ts"

/**
 * Which telephony adapter a voice webhook (or a voice WebSocket handshake) comes from: the first
 * of the agent's candidates (the one holding its number first) whose signature check accepts the
 * exact request. None: refuse it. The voice routes know no vendor.
 */
export class VoiceWebhookAuth extends Effect.Service<VoiceWebhookAuth>()("app/voice/VoiceWebhookAuth", {
  effect: Effect.gen(function*() {
    const registry = yield* ProviderRegistry
    return {
      verify: Effect.fn("VoiceWebhookAuth.verify")(function*(agentId: AgentId | undefined, req: WebhookRequest) {
        for (const adapter of yield* registry.webhookCandidates("telephony", agentId)) {
          if (yield* adapter.verifyWebhook(req)) return Option.some<TelephonyAdapter>(adapter)
        }
        return Option.none<TelephonyAdapter>()
      })
    } as const
  })
}) {}
