import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { EmailProvider } from "../EmailProvider.ts"
import type { ProviderHealth } from "../ProviderError.ts"
import { Telephony } from "../Telephony.ts"
import { VoiceOrchestrator } from "../VoiceOrchestrator.ts"
import { WhatsAppSenders } from "../WhatsAppSenders.ts"
import { ProviderError } from "../ProviderError.ts"
import { SandboxCarrier } from "./SandboxCarrier.ts"
import { SandboxDelivery } from "./SandboxDelivery.ts"

/** The sandbox adapters of every provider port, all backed by the one SandboxCarrier. */
const ok: Effect.Effect<ProviderHealth> = Effect.succeed({ status: "ok" })

export const SandboxTelephony = Layer.effect(
  Telephony,
  Effect.zipWith(SandboxCarrier, SandboxDelivery, (carrier, delivery) =>
    Telephony.of({
      provider: "sandbox",
      provisionNumber: ({ agentId }) => carrier.allocatePhoneNumber(agentId),
      sendMessage: delivery.sendMessage,
      releaseNumber: (agentId) => carrier.release(agentId, "phone"),
      health: ok
    }))
)

export const SandboxEmail = Layer.effect(
  EmailProvider,
  Effect.zipWith(SandboxCarrier, SandboxDelivery, (carrier, delivery) =>
    EmailProvider.of({
      provider: "sandbox",
      provisionAddress: ({ agentId }) => carrier.allocateEmail(agentId),
      send: (req) =>
        delivery.sendEmail(req).pipe(
          Effect.mapError((e) => new ProviderError({ provider: "sandbox", operation: "send email", reason: e.reason }))
        ),
      releaseAddress: (agentId) => carrier.release(agentId, "email"),
      health: ok
    }))
)

export const SandboxVoice = Layer.effect(
  VoiceOrchestrator,
  Effect.map(SandboxCarrier, (carrier) =>
    VoiceOrchestrator.of({
      provider: "sandbox",
      createApp: ({ agentId }) => carrier.allocateVoiceApp(agentId),
      deleteApp: (agentId) => carrier.release(agentId, "voice_app"),
      health: ok
    }))
)

/** Sandbox senders are approved at once: there is no Meta review in the sandbox. */
export const SandboxWhatsApp = Layer.succeed(
  WhatsAppSenders,
  WhatsAppSenders.of({
    provider: "sandbox",
    assignProfile: () => Effect.succeed({ status: "active" as const }),
    health: ok
  })
)

export const SandboxProviders = Layer.mergeAll(SandboxTelephony, SandboxEmail, SandboxVoice, SandboxWhatsApp)
