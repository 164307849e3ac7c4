/**
 * Entry point. `node --import tsx src/main.ts` (or the `agentos-comms` bin):
 * HTTP server with MCP at /mcp. With `--stdio`: MCP over stdin/stdout as well
 * (for Claude Desktop), everything logged to stderr.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import pkg from "../package.json" with { type: "json" }
import { AppConfig, formatConfigError } from "./config/AppConfig.ts"
import { McpStdio } from "./mcp/McpStdio.ts"
import { LoggerLive } from "./observability/Logger.ts"
import { TracingLive } from "./observability/Tracing.ts"
import { EncryptionKeyMismatch } from "./security/Cipher.ts"
import { AppLive, HttpLive } from "./Server.ts"

const stdio = process.argv.includes("--stdio")

const isServeError = (u: unknown): u is { readonly _tag: "ServeError"; readonly cause: unknown } =>
  typeof u === "object" && u !== null && "_tag" in u && u._tag === "ServeError"

const describeListenError = (cause: unknown): string => {
  if (typeof cause !== "object" || cause === null) return "the configured HOST:PORT"
  const e = cause as { code?: unknown; address?: unknown; port?: unknown }
  const where = `${String(e.address ?? "HOST")}:${String(e.port ?? "PORT")}`
  return e.code === "EADDRINUSE" ? `${where}: the port is already in use (set PORT)` : `${where} (${String(e.code ?? "error")})`
}

const StartupNotes = Layer.effectDiscard(Effect.gen(function*() {
  const config = yield* AppConfig
  if (config.generatedSecrets.length > 0) {
    yield* Effect.logWarning("sandbox mode: generated secrets for this data directory").pipe(
      Effect.annotateLogs({ generated: config.generatedSecrets.join(","), file: config.secretsFile ?? "memory only" })
    )
  }
  yield* Effect.logInfo("agentos-comms started").pipe(
    Effect.annotateLogs({ version: pkg.version, mode: config.demoMode ? "sandbox" : "live", transport: stdio ? "stdio+http" : "http" })
  )
}))

/** HTTP only: runs until interrupted (SIGINT/SIGTERM). */
const serveHttp = Layer.launch(StartupNotes.pipe(Layer.provideMerge(HttpLive)))

/** stdio + HTTP: runs until the stdio client disconnects. */
const serveStdio = McpStdio.run.pipe(
  Effect.provide(Layer.unwrapEffect(Effect.map(AppConfig, (config) =>
    Layer.mergeAll(
      McpStdio.layer({
        server: { name: config.serverName, version: pkg.version },
        ...(Option.isSome(config.stdioToken) ? { bearer: config.stdioToken.value } : {})
      }),
      StartupNotes
    ).pipe(Layer.provideMerge(HttpLive))
  )))
)

const program = Effect.gen(function*() {
  const config = yield* AppConfig
  const level = Option.getOrElse(config.logLevel, () => LogLevel.Info)
  return yield* (stdio ? serveStdio : serveHttp).pipe(Logger.withMinimumLogLevel(level))
}).pipe(
  // one build of the config and the app: every layer below shares it
  Effect.provide(AppLive),
  // outside the app, so every span of it is exported (when OTEL_EXPORTER_OTLP_ENDPOINT is set)
  Effect.provide(TracingLive),
  Effect.catchAllCause((cause) => {
    const failure = Cause.failureOption(cause)
    const line = Option.isSome(failure) && ConfigError.isConfigError(failure.value)
      ? formatConfigError(failure.value)
      : Option.isSome(failure) && failure.value instanceof EncryptionKeyMismatch
      ? `start-up stopped: ${failure.value.message}`
      : Option.isSome(failure) && isServeError(failure.value)
      ? `start-up failed: cannot listen on ${describeListenError(failure.value.cause)}`
      : Cause.isInterruptedOnly(cause)
      ? undefined
      : `start-up failed: ${Cause.pretty(cause).split("\n")[0]}`
    return line === undefined ? Effect.void : Effect.sync(() => {
      process.stderr.write(line + "\n")
      process.exitCode = 1
    })
  }),
  Effect.provide(LoggerLive(stdio))
)

NodeRuntime.runMain(program, { disablePrettyLogger: true, disableErrorReporting: true })
