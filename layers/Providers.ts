import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { AppConfig } from "../src/config/AppConfig.ts"
import { LiveProviders } from "./Live.ts"
import { SandboxLive } from "./Sandbox.ts"

/** The one place where vendors are chosen: sandbox carrier or live adapters, from config. */
export const ProvidersLive = Layer.unwrapEffect(
  Effect.map(AppConfig, (config) => (config.demoMode ? SandboxLive : LiveProviders))
)
