import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { AppConfig } from "../src/config/AppConfig.ts"
import { ProviderCredentials } from "../src/providers/ProviderCredentials.ts"
import { ProviderError } from "../src/providers/ProviderError.ts"
import { ProviderRegistry } from "../src/providers/ProviderRegistry.ts"
import { ProviderRouting } from "../src/providers/ProviderRouting.ts"
import { VENDORS } from "../src/providers/Vendors.ts"
import { VoiceOrchestrator } from "../src/providers/VoiceOrchestrator.ts"
import { WhatsAppSenders } from "../src/providers/WhatsAppSenders.ts"
import { Cipher } from "../src/security/Cipher.ts"

/**
 * DEMO_MODE=false: the vendors whose credentials are in the environment (verified with a read-only
 * call) and those registered before with `comms_register_provider` (sealed in the database), behind
 * the routing layer. A credential that is malformed or refused stops start-up with one line naming
 * the variable or provider; a slot with no provider yet is unavailable (/health/ready says so)
 * until one is registered, without a restart.
 */
const RegisterAtBoot = Layer.effectDiscard(Effect.gen(function*() {
  const config = yield* AppConfig
  const credentials = yield* ProviderCredentials
  const registry = yield* ProviderRegistry
  for (const [slot, names] of [["PROVIDER_TELEPHONY", config.providerTelephony], ["PROVIDER_EMAIL", config.providerEmail]] as const) {
    for (const name of names._tag === "Some" ? names.value : []) {
      if (!VENDORS.has(name)) {
        return yield* Effect.dieMessage(`${slot}: unknown provider "${name}" (known: ${[...VENDORS.keys()].join(", ")})`)
      }
    }
  }
  const started = yield* credentials.registerAtBoot.pipe(
    Effect.catchIf((e): e is string => typeof e === "string", (line) => Effect.dieMessage(`DEMO_MODE=false: ${line}`))
  )
  for (const slot of ["telephony", "email"] as const) {
    if (registry.adapters(slot).length === 0) {
      yield* Effect.logWarning(`no ${slot} provider registered: the slot is unavailable until one is`)
    }
  }
  yield* Effect.logInfo("live providers registered").pipe(Effect.annotateLogs({ providers: started.join(",") }))
}))

/** Live voice is the voice issue's: until it lands, creating a voice app fails with a clear reason. */
const LiveVoice = Layer.succeed(
  VoiceOrchestrator,
  VoiceOrchestrator.of({
    provider: "none",
    createApp: () =>
      Effect.fail(new ProviderError({ provider: "none", operation: "create voice app", reason: "live voice is not available yet", kind: "rejected" })),
    deleteApp: () => Effect.void,
    health: Effect.succeed({ status: "ok" })
  })
)

/** WhatsApp senders are registered (and approved by Meta) ahead of time into `whatsapp_pool`. */
const LiveWhatsApp = Layer.succeed(
  WhatsAppSenders,
  WhatsAppSenders.of({
    provider: "pool",
    assignProfile: () => Effect.succeed({ status: "active" as const }),
    health: Effect.succeed({ status: "ok" })
  })
)

export const LiveProviders = Layer.mergeAll(ProviderRouting, RegisterAtBoot, LiveVoice, LiveWhatsApp).pipe(
  Layer.provideMerge(ProviderCredentials.Default),
  Layer.provide(Cipher.Default),
  Layer.provideMerge(ProviderRegistry.Default)
)
