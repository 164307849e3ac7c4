import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { CREDENTIAL_VARIABLES } from "../providers/credentialVariables.ts"

/** Whether any vendor credential variable is set (then DEMO_MODE defaults to false). */
const anyCredentialVariable = Effect.map(
  Effect.forEach(CREDENTIAL_VARIABLES, (name) => Config.option(Config.string(name))),
  (values) => values.some(Option.isSome)
)

/**
 * A 32-byte key given as 64 hex characters or as base64 (standard or url-safe).
 * Anything else is a configuration error naming the variable.
 */
export const key32 = (name: string): Config.Config<Redacted.Redacted<Buffer>> =>
  Config.string(name).pipe(
    Config.mapOrFail((value) => {
      const raw = value.trim()
      const bytes = /^[0-9a-fA-F]{64}$/.test(raw)
        ? Buffer.from(raw, "hex")
        : /^[A-Za-z0-9+/_-]{43}={0,1}$/.test(raw)
        ? Buffer.from(raw, "base64")
        : undefined
      return bytes !== undefined && bytes.length === 32
        ? Either.right(Redacted.make(bytes))
        : Either.left(ConfigError.InvalidData([], "expected 32 bytes as 64 hex characters or base64"))
    })
  )

const positiveInt = (name: string, fallback: number) =>
  Config.integer(name).pipe(
    Config.validate({ message: "expected a positive integer", validation: (n) => n > 0 }),
    Config.withDefault(fallback)
  )

const nonNegativeNumber = (name: string, fallback: number) =>
  Config.number(name).pipe(
    Config.validate({ message: "expected a number >= 0", validation: (n) => n >= 0 }),
    Config.withDefault(fallback)
  )

// mapOrFail (unlike validate on a redacted value) keeps the variable's name in the error path
const secretMinLength = (name: string) =>
  Config.string(name).pipe(
    Config.mapOrFail((value) =>
      value.length >= 16
        ? Either.right(Redacted.make(value))
        : Either.left(ConfigError.InvalidData([], "expected at least 16 characters"))
    )
  )

const url = (name: string) =>
  Config.string(name).pipe(
    Config.validate({
      message: "expected an absolute http(s) URL",
      validation: (s) => {
        try {
          const u = new URL(s.replace("{agentId}", "agent"))
          return u.protocol === "http:" || u.protocol === "https:"
        } catch {
          return false
        }
      }
    })
  )

/** An ordered, comma-separated list of provider names (primary first), lower-cased. */
const providerList = (name: string) =>
  Config.string(name).pipe(
    Config.mapOrFail((raw) => {
      const names = raw.split(",").map((n) => n.trim().toLowerCase()).filter((n) => n !== "")
      return names.length > 0 && names.every((n) => /^[a-z][a-z0-9_-]{0,39}$/.test(n))
        ? Either.right(names as ReadonlyArray<string>)
        : Either.left(ConfigError.InvalidData([], "expected a comma-separated list of provider names"))
    }),
    Config.option
  )

/** A secret that sandbox mode may generate for this run. */
export interface GeneratedSecret {
  readonly name: string
}

const rawConfig = Config.all({
  port: Config.integer("PORT").pipe(
    Config.validate({ message: "expected a port number 0-65535 (0 picks a free port)", validation: (n) => n >= 0 && n <= 65535 }),
    Config.withDefault(3100)
  ),
  host: Config.string("HOST").pipe(Config.withDefault("0.0.0.0")),
  webhookBaseUrl: Config.option(url("WEBHOOK_BASE_URL")),
  serverName: Config.string("MCP_SERVER_NAME").pipe(Config.withDefault("agentos-comms")),
  nodeEnv: Config.literal("development", "production", "test")("NODE_ENV").pipe(Config.withDefault("development")),
  logLevel: Config.option(
    Config.string("LOG_LEVEL").pipe(Config.mapOrFail((raw) => {
      const aliases: Record<string, LogLevel.Literal> = { warning: "Warning", warn: "Warning", err: "Error" }
      const name = raw.trim().toLowerCase()
      const literal = aliases[name] ?? LogLevel.allLevels.find((l) => l._tag.toLowerCase() === name || l.label.toLowerCase() === name)?._tag
      return literal === undefined
        ? Either.left(ConfigError.InvalidData([], "expected one of all, trace, debug, info, warning, error, fatal, none"))
        : Either.right(LogLevel.fromLiteral(literal))
    }))
  ),
  demoMode: Config.option(Config.boolean("DEMO_MODE")),
  masterToken: Config.option(secretMinLength("MASTER_SECURITY_TOKEN")),
  adminToken: Config.option(secretMinLength("ADMIN_TOKEN")),
  encryptionKey: Config.option(key32("CREDENTIALS_ENCRYPTION_KEY")),
  sandboxAuthToken: Config.option(secretMinLength("SANDBOX_AUTH_TOKEN")),
  sandboxEmailDomain: Config.string("SANDBOX_EMAIL_DOMAIN").pipe(Config.withDefault("agents.sandbox.test")),
  sandboxWhatsAppPoolSize: Config.integer("SANDBOX_WHATSAPP_POOL_SIZE").pipe(
    Config.validate({ message: "expected an integer >= 0", validation: (n) => n >= 0 }),
    Config.withDefault(20)
  ),
  initialPoolSize: positiveInt("INITIAL_AGENT_POOL_SIZE", 5),
  // vendor credentials are read by each vendor's adapter (src/providers/<vendor>/), never here
  providerTelephony: providerList("PROVIDER_TELEPHONY"),
  providerEmail: providerList("PROVIDER_EMAIL"),
  providerBreakerThreshold: positiveInt("PROVIDER_BREAKER_THRESHOLD", 5),
  providerBreakerCooldownSeconds: positiveInt("PROVIDER_BREAKER_COOLDOWN_SECONDS", 30),
  stdioToken: Config.option(Config.redacted("MCP_STDIO_TOKEN")),
  smsHelpText: Config.string("SMS_HELP_TEXT").pipe(Config.option),
  quietHours: Config.literal("enforce", "off")("TCPA_QUIET_HOURS").pipe(Config.withDefault("enforce" as const)),
  physicalAddress: Config.string("COMPANY_PHYSICAL_ADDRESS").pipe(Config.withDefault("(set COMPANY_PHYSICAL_ADDRESS)")),
  callbackUrl: Config.option(url("AGENTOS_CALLBACK_URL")),
  callbackSigningSecret: Config.option(secretMinLength("CALLBACK_SIGNING_SECRET")),
  callbackMaxAgeHours: positiveInt("CALLBACK_MAX_AGE_HOURS", 72),
  mediaFetchAllowPrivate: Config.boolean("MEDIA_FETCH_ALLOW_PRIVATE").pipe(Config.withDefault(false)),
  inboundEmailSecret: Config.option(secretMinLength("INBOUND_EMAIL_SECRET")),
  maxMessageBodyChars: positiveInt("MAX_MESSAGE_BODY_CHARS", 20000),
  tokenTtlDays: positiveInt("TOKEN_TTL_DAYS", 90),
  authLockoutThreshold: positiveInt("AUTH_LOCKOUT_THRESHOLD", 100),
  authLockoutWindowSeconds: positiveInt("AUTH_LOCKOUT_WINDOW_SECONDS", 300),
  authLockoutSeconds: positiveInt("AUTH_LOCKOUT_SECONDS", 900),
  mcpMaxSessions: positiveInt("MCP_MAX_SESSIONS", 1000),
  dataDir: Config.string("DATA_DIR").pipe(Config.withDefault("./data")),
  agentIdleSeconds: positiveInt("AGENT_IDLE_SECONDS", 300),
  retentionSweepSeconds: positiveInt("RETENTION_SWEEP_SECONDS", 3600),
  limits: Config.all({
    maxPerMinute: positiveInt("DEFAULT_MAX_ACTIONS_PER_MINUTE", 10),
    maxPerHour: positiveInt("DEFAULT_MAX_ACTIONS_PER_HOUR", 100),
    maxPerDay: positiveInt("DEFAULT_MAX_ACTIONS_PER_DAY", 500),
    maxSpendPerDay: nonNegativeNumber("DEFAULT_MAX_SPEND_PER_DAY", 10),
    maxSpendPerMonth: nonNegativeNumber("DEFAULT_MAX_SPEND_PER_MONTH", 100),
    maxCallsPerDaySameNumber: positiveInt("DEFAULT_MAX_CALLS_PER_DAY_SAME_NUMBER", 2),
    maxMessagesPerDaySameContact: positiveInt("DEFAULT_MAX_MESSAGES_PER_DAY_SAME_CONTACT", 20)
  })
})

export interface DefaultLimits {
  readonly maxPerMinute: number
  readonly maxPerHour: number
  readonly maxPerDay: number
  readonly maxSpendPerDay: number
  readonly maxSpendPerMonth: number
  readonly maxCallsPerDaySameNumber: number
  readonly maxMessagesPerDaySameContact: number
}

/**
 * Every environment variable of the server, read and validated once at start.
 * With no provider credentials at all, the server runs the sandbox carrier
 * (DEMO_MODE defaults to true) and generates any secret it lacks for the run.
 */
export class AppConfig extends Effect.Service<AppConfig>()("app/config/AppConfig", {
  effect: Effect.gen(function*() {
    const c = yield* rawConfig
    const hasProviderCredentials = Option.isSome(c.providerTelephony) || Option.isSome(c.providerEmail) ||
      (yield* anyCredentialVariable)
    const demoMode = Option.getOrElse(c.demoMode, () => !hasProviderCredentials)
    const generatedSecrets: Array<string> = []
    // Sandbox secrets generated on a first start are kept in DATA_DIR, so a
    // restart on the same data keeps the same master/admin tokens.
    const secretsFile = c.dataDir === ":memory:" ? undefined : path.join(c.dataDir, "sandbox-secrets.json")
    const stored = yield* Effect.sync((): Record<string, string> => {
      if (!demoMode || secretsFile === undefined) return {}
      try {
        const parsed: unknown = JSON.parse(fs.readFileSync(secretsFile, "utf8"))
        return typeof parsed === "object" && parsed !== null ? parsed as Record<string, string> : {}
      } catch {
        return {}
      }
    })
    const fresh: Record<string, string> = {}
    // generated in the form each secret is used in (Standard Webhooks secrets as whsec_ + base64)
    const fresh32 = (name: string) =>
      name === "CALLBACK_SIGNING_SECRET"
        ? `whsec_${randomBytes(32).toString("base64")}`
        : randomBytes(32).toString("base64url")
    const sandboxSecret = (name: string) => {
      const value = stored[name] ?? fresh32(name)
      if (stored[name] === undefined) generatedSecrets.push(name)
      fresh[name] = value
      return value
    }
    const secret = <A>(name: string, value: Option.Option<A>, make: (raw: string) => A) =>
      Option.match(value, {
        onSome: (v) => Effect.succeed(v),
        onNone: () =>
          demoMode
            ? Effect.sync(() => make(sandboxSecret(name)))
            : Effect.fail(ConfigError.MissingData([name], `Expected ${name} to exist (required when DEMO_MODE=false)`))
      })
    const masterToken = yield* secret("MASTER_SECURITY_TOKEN", c.masterToken, Redacted.make)
    const adminToken = yield* secret("ADMIN_TOKEN", c.adminToken, Redacted.make)
    const encryptionKey = yield* secret("CREDENTIALS_ENCRYPTION_KEY", c.encryptionKey, (raw) =>
      Redacted.make(Buffer.from(raw, "base64url")))
    const callbackSigningSecret = yield* secret("CALLBACK_SIGNING_SECRET", c.callbackSigningSecret, Redacted.make)
    const inboundEmailSecret = yield* secret("INBOUND_EMAIL_SECRET", c.inboundEmailSecret, Redacted.make)
    const sandboxAuthToken = Option.isSome(c.sandboxAuthToken)
      ? c.sandboxAuthToken.value
      : Redacted.make(sandboxSecret("SANDBOX_AUTH_TOKEN"))
    if (demoMode && secretsFile !== undefined && generatedSecrets.length > 0) {
      yield* Effect.sync(() => {
        fs.mkdirSync(c.dataDir, { recursive: true })
        fs.writeFileSync(secretsFile, JSON.stringify({ ...stored, ...fresh }, null, 2) + "\n", { mode: 0o600 })
      })
    }
    const webhookBaseUrl = Option.map(c.webhookBaseUrl, (u) => u.replace(/\/+$/, ""))
    return {
      ...c,
      demoMode,
      masterToken,
      adminToken,
      encryptionKey,
      callbackSigningSecret,
      inboundEmailSecret,
      sandboxAuthToken,
      webhookBaseUrl,
      /** Names (never values) of the secrets generated on this start. */
      generatedSecrets: generatedSecrets as ReadonlyArray<string>,
      /** Where sandbox-generated secrets are kept, if anywhere. */
      secretsFile
    } as const
  })
}) {}

/** One clear line for a configuration error: the variable(s) and what is wrong. */
export const formatConfigError = (error: ConfigError.ConfigError): string => {
  const problems: Array<string> = []
  const walk = (e: ConfigError.ConfigError): void => {
    switch (e._op) {
      case "And":
      case "Or":
        walk(e.left)
        walk(e.right)
        return
      case "MissingData":
        problems.push(`${e.path.join("_") || "?"} is missing`)
        return
      case "InvalidData":
      case "SourceUnavailable":
      case "Unsupported":
        problems.push(`${e.path.join("_") || "?"} is invalid: ${e.message.replace(/^Expected /, "expected ")}`)
        return
    }
  }
  walk(error)
  return `configuration error: ${[...new Set(problems)].join("; ")}`
}
