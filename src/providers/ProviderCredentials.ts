import * as HttpClient from "@effect/platform/HttpClient"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { AppConfig } from "../config/AppConfig.ts"
import { Cipher } from "../security/Cipher.ts"
import type { Capability, ProviderAdapter } from "./Adapters.ts"
import { ProviderRegistry } from "./ProviderRegistry.ts"
import { VENDORS } from "./Vendors.ts"

/** Why a registration was refused. Never carries a credential. */
export type RegistrationRefusal =
  | { readonly _tag: "UnknownProvider"; readonly message: string }
  | { readonly _tag: "BadShape"; readonly message: string }
  | { readonly _tag: "Unverified"; readonly message: string }

export interface Registered {
  readonly provider: string
  readonly status: "active" | "pending_verification"
  readonly capabilities: ReadonlyArray<Capability>
}

const Sealed = Schema.Struct({ provider: Schema.String, credentialsEncrypted: Schema.String })
const CredentialRecord = Schema.parseJson(Schema.Record({ key: Schema.String, value: Schema.String }))

/**
 * Vendor credentials: validated per vendor, verified with a read-only call (the adapter's health
 * probe), sealed with AES-256-GCM (`Cipher`, purpose "provider-credentials") in `provider_credentials`
 * and registered in the `ProviderRegistry`, where the next action uses them (no restart). At boot the
 * environment's credentials and the sealed ones are registered. A credential is never logged,
 * returned or put in an error.
 */
export class ProviderCredentials extends Effect.Service<ProviderCredentials>()("app/providers/ProviderCredentials", {
  effect: Effect.gen(function*() {
    const registry = yield* ProviderRegistry
    const cipher = yield* Cipher
    const sql = yield* SqlClient.SqlClient
    const context = yield* Effect.context<AppConfig | HttpClient.HttpClient>()
    const decodeSealed = Schema.decodeUnknown(Schema.Array(Sealed))

    const build = (name: string, credentials: Readonly<Record<string, string>>) =>
      Effect.gen(function*() {
        const vendor = VENDORS.get(name)
        if (vendor === undefined) {
          return yield* Effect.fail<RegistrationRefusal>({
            _tag: "UnknownProvider",
            message: `unknown provider "${name.slice(0, 40)}"; known: ${[...VENDORS.keys()].join(", ")}`
          })
        }
        const parsed = vendor.parseCredentials(credentials)
        if (parsed._tag === "Left") return yield* Effect.fail<RegistrationRefusal>({ _tag: "BadShape", message: parsed.left })
        const adapter = yield* vendor.make(parsed.right).pipe(
          Effect.provide(context),
          Effect.mapError((): RegistrationRefusal => ({ _tag: "BadShape", message: `${name}: its configuration is invalid` }))
        )
        return { vendor, adapter, credentials: parsed.right }
      })

    const verify = (adapter: ProviderAdapter) =>
      Effect.flatMap(adapter.health, (h) =>
        h.status === "ok"
          ? Effect.void
          : Effect.fail<RegistrationRefusal>({ _tag: "Unverified", message: `${adapter.name} refused the credentials or could not be reached (${h.reason})` }))

    /** Validates, verifies (unless `autoVerify` is false), seals, stores and registers. */
    const register = (name: string, raw: Readonly<Record<string, string>>, autoVerify: boolean) =>
      Effect.gen(function*() {
        const built = yield* build(name, raw)
        if (autoVerify) yield* verify(built.adapter)
        const sealed = cipher.encrypt("provider-credentials", JSON.stringify(built.credentials))
        const status = autoVerify ? "active" : "pending_verification"
        yield* sql`INSERT INTO provider_credentials ${sql.insert({ provider: name, credentialsEncrypted: sealed, status })}
          ON CONFLICT (provider) DO UPDATE SET credentials_encrypted = EXCLUDED.credentials_encrypted,
            status = EXCLUDED.status, verified_at = ${autoVerify ? sql`now()` : sql`NULL`}`.pipe(Effect.orDie)
        if (autoVerify) yield* sql`UPDATE provider_credentials SET verified_at = now() WHERE provider = ${name}`.pipe(Effect.orDie)
        yield* registry.register(built.adapter)
        yield* Effect.logInfo("provider registered").pipe(Effect.annotateLogs({ provider: name, status }))
        const out: Registered = { provider: name, status, capabilities: built.vendor.capabilities }
        return out
      }).pipe(Effect.withSpan("ProviderCredentials.register", { attributes: { provider: name } }))

    /**
     * Boot: every vendor with credentials in the environment, then every sealed registration not
     * already registered from the environment. A failure names the variable or the provider.
     */
    const registerAtBoot = Effect.gen(function*() {
      const started: Array<string> = []
      for (const vendor of VENDORS.values()) {
        const env = yield* vendor.fromEnv
        if (Option.isNone(env)) continue
        const parsed = vendor.parseCredentials(env.value)
        if (parsed._tag === "Left") {
          return yield* Effect.fail(`${vendor.name} credentials in the environment are invalid: ${parsed.left}`)
        }
        const adapter = yield* vendor.make(parsed.right).pipe(Effect.provide(context))
        const health = yield* adapter.health
        if (health.status !== "ok") {
          return yield* Effect.fail(`${vendor.name} credentials in the environment could not be verified (${health.reason})`)
        }
        yield* registry.register(adapter)
        started.push(vendor.name)
      }
      const rows = yield* sql`SELECT provider, credentials_encrypted FROM provider_credentials`.pipe(
        Effect.flatMap(decodeSealed),
        Effect.orDie
      )
      for (const row of rows) {
        if (started.includes(row.provider)) continue
        const plain = cipher.decrypt("provider-credentials", row.credentialsEncrypted)
        const creds = plain === undefined ? Option.none() : Schema.decodeUnknownOption(CredentialRecord)(plain)
        if (Option.isNone(creds)) {
          return yield* Effect.fail(`stored credentials of provider ${row.provider} cannot be decrypted with CREDENTIALS_ENCRYPTION_KEY`)
        }
        const built = yield* Effect.either(build(row.provider, creds.value))
        if (built._tag === "Left") return yield* Effect.fail(`stored credentials of provider ${row.provider}: ${built.left.message}`)
        yield* registry.register(built.right.adapter)
        started.push(row.provider)
      }
      return started as ReadonlyArray<string>
    })

    return { register, registerAtBoot } as const
  })
}) {}
