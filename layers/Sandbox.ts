import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { AppConfig } from "../src/config/AppConfig.ts"
import { ProviderCredentials } from "../src/providers/ProviderCredentials.ts"
import { ProviderRegistry } from "../src/providers/ProviderRegistry.ts"
import { Cipher } from "../src/security/Cipher.ts"
import { ProviderRouting } from "../src/providers/ProviderRouting.ts"
import { SandboxCarrier } from "../src/providers/sandbox/SandboxCarrier.ts"
import { SandboxDelivery } from "../src/providers/sandbox/SandboxDelivery.ts"
import { SandboxProviders } from "../src/providers/sandbox/SandboxProviders.ts"

/**
 * Every provider port served by the sandbox carrier: fictional numbers and
 * addresses, signed webhooks to our own endpoints, no vendor network. Seeds
 * the WhatsApp sender pool on start. The sandbox is registered in the
 * provider registry like any vendor, and the ports are served by routing.
 */
const SeedWhatsAppPool = Layer.effectDiscard(
  Effect.gen(function*() {
    const config = yield* AppConfig
    const carrier = yield* SandboxCarrier
    yield* carrier.seedWhatsAppPool(config.sandboxWhatsAppPoolSize)
  })
)

export const SandboxLive = Layer.mergeAll(ProviderRouting, SandboxProviders, SeedWhatsAppPool).pipe(
  Layer.provide(SandboxDelivery.Default),
  Layer.provideMerge(SandboxCarrier.Default),
  // vendors registered at runtime (comms_register_provider) join the sandbox without a restart
  Layer.provideMerge(ProviderCredentials.Default),
  Layer.provide(Cipher.Default),
  Layer.provideMerge(ProviderRegistry.Default)
)
