import * as ConfigProvider from "effect/ConfigProvider"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as SqlClient from "@effect/sql/SqlClient"
import { AppConfig } from "../src/config/AppConfig.ts"
import { PublicUrl } from "../src/http/PublicUrl.ts"
import type { EncryptionKeyMismatch } from "../src/security/Cipher.ts"
import type { EmailProvider } from "../src/providers/EmailProvider.ts"
import type { ProviderCredentials } from "../src/providers/ProviderCredentials.ts"
import type { ProviderRegistry } from "../src/providers/ProviderRegistry.ts"
import type { Telephony } from "../src/providers/Telephony.ts"
import type { VoiceOrchestrator } from "../src/providers/VoiceOrchestrator.ts"
import type { WhatsAppSenders } from "../src/providers/WhatsAppSenders.ts"
import { DomainServices, InfraLive } from "../src/Server.ts"
import { SandboxLive } from "./Sandbox.ts"

export type ProviderPorts = Telephony | EmailProvider | VoiceOrchestrator | WhatsAppSenders | ProviderRegistry | ProviderCredentials

export const TEST_MASTER_TOKEN = "test-master-token-0123456789"
export const TEST_ADMIN_TOKEN = "test-admin-token-0123456789"

/** Configuration for tests: fixed tokens, in-memory PGlite, free port, quiet logs; `env` overrides. */
export const testConfig = (env: Record<string, string> = {}) =>
  Layer.mergeAll(
    Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries({
      MASTER_SECURITY_TOKEN: TEST_MASTER_TOKEN,
      ADMIN_TOKEN: TEST_ADMIN_TOKEN,
      PORT: "0",
      HOST: "127.0.0.1",
      DATA_DIR: ":memory:",
      // wall-clock tests must not depend on the hour they run at; quiet hours are tested on a TestClock
      TCPA_QUIET_HOURS: "off",
      // `npm run test:cluster` runs the suites on the cluster runtime (one-process cluster in memory)
      ...(process.env["TEST_AGENT_RUNTIME"] === undefined ? {} : { AGENT_RUNTIME: process.env["TEST_AGENT_RUNTIME"] }),
      ...env
    })))),
    Logger.minimumLogLevel(LogLevel.None)
  )

/**
 * The domain (no HTTP) over the sandbox carrier, or over `providers` swapped
 * in by a test, on a migrated in-memory PGlite (or DATABASE_URL from `env`).
 */
export const TestDomain = (
  options: {
    readonly env?: Record<string, string>
    readonly providers?: Layer.Layer<
      ProviderPorts,
      EncryptionKeyMismatch,
      AppConfig | SqlClient.SqlClient | PublicUrl | HttpClient.HttpClient
    >
  } = {}
) =>
  DomainServices.pipe(
    Layer.provideMerge(options.providers ?? SandboxLive),
    Layer.provideMerge(InfraLive),
    Layer.provide(testConfig(options.env))
  )
