/**
 * MCP over stdio: one SDK `Server` on the process's stdin/stdout.
 *
 * stdout carries JSON-RPC only: in stdio mode everything that logs must write
 * to stderr (see {@link McpStdio.logToStderr}), and the process must be
 * launched directly (`node …`), not through `npm start` (npm's banner goes to
 * stdout).
 */
import type { Readable, Writable } from "node:stream"
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import type * as Redacted from "effect/Redacted"
import * as McpServerFactory from "./McpServerFactory.ts"
import type { ToolRegistry } from "./ToolRegistry.ts"

export interface McpStdioOptions {
  /** `serverInfo` announced in `initialize`. */
  readonly server: McpServerFactory.McpServerInfo
  /** Token that authenticates every call of this connection (MCP_STDIO_TOKEN), like a Bearer header. */
  readonly bearer?: Redacted.Redacted<string> | undefined
  /** Defaults to `process.stdin`. */
  readonly stdin?: Readable | undefined
  /** Defaults to `process.stdout`. */
  readonly stdout?: Writable | undefined
}

const make = (options: McpStdioOptions) =>
  Effect.gen(function*() {
    const makeServer = yield* McpServerFactory.make(options.server)
    const stdin = options.stdin ?? process.stdin
    const stdout = options.stdout ?? process.stdout
    const disconnected = yield* Deferred.make<void>()
    const onDisconnect = () => Deferred.unsafeDone(disconnected, Exit.void)

    const server = makeServer({ clientIp: "stdio", bearer: options.bearer })
    const transport = new StdioServerTransport(stdin, stdout)
    server.onclose = onDisconnect

    yield* Effect.acquireRelease(
      Effect.gen(function*() {
        stdin.once("end", onDisconnect)
        stdin.once("close", onDisconnect)
        yield* Effect.promise(() => server.connect(transport))
        if (stdin.readableEnded || stdin.destroyed) onDisconnect()
      }),
      () =>
        Effect.sync(() => {
          stdin.off("end", onDisconnect)
          stdin.off("close", onDisconnect)
        }).pipe(
          Effect.zipRight(Effect.tryPromise(() => server.close())),
          Effect.catchAll((error) => Effect.logWarning("Closing the MCP stdio server failed", error))
        )
    )

    return McpStdio.of({ disconnected: Deferred.await(disconnected) })
  })

/** The MCP stdio server, connected while the layer's scope is open. */
export class McpStdio extends Context.Tag("app/mcp/McpStdio")<McpStdio, {
  /** Completes when the client disconnects: stdin ended, or the transport closed. */
  readonly disconnected: Effect.Effect<void>
}>() {
  /** Connects one SDK Server to stdin/stdout; closes it when the scope closes. */
  static readonly layer = (options: McpStdioOptions): Layer.Layer<McpStdio, never, ToolRegistry> =>
    Layer.scoped(McpStdio, make(options))

  /** Waits until the client disconnects; the entry point then lets the scope close. */
  static readonly run: Effect.Effect<void, never, McpStdio> = Effect.flatMap(McpStdio, (stdio) => stdio.disconnected)

  /**
   * Sends Effect's console loggers to stderr (stdout is the JSON-RPC channel):
   * replaces the default logger, and the pretty logger `NodeRuntime.runMain`
   * installs, with a pretty logger writing to stderr. Other loggers (e.g.
   * OpenTelemetry) are kept.
   */
  static readonly logToStderr: Layer.Layer<never> = Layer.mergeAll(
    Logger.remove(Logger.prettyLoggerDefault),
    Logger.replace(Logger.defaultLogger, Logger.prettyLogger({ stderr: true, colors: false }))
  )
}
