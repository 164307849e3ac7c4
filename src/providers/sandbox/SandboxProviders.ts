import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { AppConfig } from "../../config/AppConfig.ts"
import { verifyBasicAuth, verifyUrlSecret } from "../../webhooks/verify.ts"
import type { EmailAdapter, TelephonyAdapter } from "../Adapters.ts"
import { twilioWebhookCodec } from "../twilio/TwilioWebhookCodec.ts"
import type { ProviderHealth } from "../ProviderError.ts"
import { decodeInboundParse } from "../sendgrid/SendGridInbound.ts"
import { VoiceOrchestrator } from "../VoiceOrchestrator.ts"
import { WhatsAppSenders } from "../WhatsAppSenders.ts"
import { ProviderError } from "../ProviderError.ts"
import { ProviderRegistry } from "../ProviderRegistry.ts"
import { SandboxCarrier } from "./SandboxCarrier.ts"
import { SandboxCalls } from "./SandboxCalls.ts"
import { SandboxDelivery } from "./SandboxDelivery.ts"

/** The sandbox adapters of every provider port, all backed by the one SandboxCarrier. */
const ok: Effect.Effect<ProviderHealth> = Effect.succeed({ status: "ok" })

/** Largest inbound email the sandbox mail system posts (SendGrid's own cap is 30 MB; ours is the route's). */
const MAX_INBOUND_EMAIL_BYTES = 10 * 1024 * 1024

/**
 * The sandbox carrier reuses two vendors' webhook dialects: Twilio's (form posts signed with
 * `X-Twilio-Signature`, keyed by SANDBOX_AUTH_TOKEN) and SendGrid's Inbound
 * Parse (multipart, unsigned: authenticated by `?key=<INBOUND_EMAIL_SECRET>` in
 * the inbound URL, or basic auth `sendgrid:<INBOUND_EMAIL_SECRET>`).
 */
export const makeSandboxTelephony = Effect.gen(function*() {
  const carrier = yield* SandboxCarrier
  const delivery = yield* SandboxDelivery
  const calls = yield* SandboxCalls
  const config = yield* AppConfig
  const adapter: TelephonyAdapter = {
    slot: "telephony",
    name: "sandbox",
    capabilities: ["sms", "mms", "whatsapp", "voice"],
    provisionNumber: ({ agentId }) => carrier.allocatePhoneNumber(agentId),
    sendMessage: delivery.sendMessage,
    ...twilioWebhookCodec(config.sandboxAuthToken),
    releaseNumber: (agentId) => carrier.release(agentId, "phone"),
    placeCall: calls.placeCall,
    updateCall: calls.updateCall,
    health: ok
  }
  return adapter
})

export const makeSandboxEmail = Effect.gen(function*() {
    const carrier = yield* SandboxCarrier
    const delivery = yield* SandboxDelivery
    const config = yield* AppConfig
    const presentedKey = (url: string): string | undefined => {
      try {
        return new URL(url).searchParams.get("key") ?? undefined
      } catch {
        return undefined
      }
    }
    const adapter: EmailAdapter = {
      slot: "email",
      name: "sandbox",
      capabilities: ["email"],
      provisionAddress: ({ agentId }) =>
        Effect.map(carrier.allocateEmail(agentId), (a) => ({ address: a.address, providerRef: a.address })),
      send: (req) =>
        delivery.sendEmail(req).pipe(
          Effect.mapError((e) => new ProviderError({ provider: "sandbox", operation: "send email", reason: e.reason }))
        ),
      verifyInbound: (req) =>
        Effect.sync(() =>
          verifyUrlSecret({ expected: config.inboundEmailSecret, presented: presentedKey(req.url) }) ||
          verifyBasicAuth(req.headers["authorization"], "sendgrid", config.inboundEmailSecret)
        ),
      decodeInbound: (req) =>
        decodeInboundParse(req.rawBody, req.headers["content-type"] ?? "", MAX_INBOUND_EMAIL_BYTES),
      releaseAddress: (agentId) => carrier.release(agentId, "email"),
      // the sandbox mail system reports no delivery events
      verifyEvents: () => Effect.succeed(false),
      decodeEvents: () => Effect.succeed([]),
      health: ok
    }
    return adapter
})

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

/** Registers the sandbox adapters (telephony and email) in the registry. */
export const RegisterSandbox = Layer.effectDiscard(Effect.gen(function*() {
  const registry = yield* ProviderRegistry
  yield* registry.register(yield* makeSandboxTelephony)
  yield* registry.register(yield* makeSandboxEmail)
}))

export const SandboxProviders = Layer.mergeAll(RegisterSandbox, SandboxVoice, SandboxWhatsApp)
