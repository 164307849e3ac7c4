/**
 * Builds low-level MCP SDK `Server`s whose `tools/list` and `tools/call` are
 * answered by the transport-independent {@link ToolRegistry}.
 *
 * How the caller's context reaches `registry.call`:
 * - bearer: `Authorization: Bearer …` of the HTTP request that carried this
 *   particular call. The SDK hands each handler `extra.requestInfo.headers`:
 *   the Streamable HTTP transport builds it from the POST that carried the
 *   JSON-RPC request, the deprecated SSE transport from the POST /messages.
 *   stdio has no `requestInfo`, so its bearer is `Option.none()`.
 * - client IP: the HTTP layer stamps it on the Node request with
 *   {@link stampClientIp}; the SDK forwards the Node request's `auth` property
 *   to handlers as `extra.authInfo`. Without a stamp the session default
 *   (e.g. "stdio") is used.
 */
import type { IncomingMessage } from "node:http"
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js"
import { Server } from "@modelcontextprotocol/sdk/server/index.js"
import {
  CallToolRequestSchema,
  type CallToolResult,
  ListToolsRequestSchema,
  type ListToolsResult,
  type RequestInfo
} from "@modelcontextprotocol/sdk/types.js"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Runtime from "effect/Runtime"
import { type ToolCallContext, ToolRegistry } from "./ToolRegistry.ts"

/** `serverInfo` announced in the MCP `initialize` result. */
export interface McpServerInfo {
  readonly name: string
  readonly version: string
}

/** Per-session defaults, used when the request that carried a call says nothing. */
export interface McpSessionDefaults {
  /** Client IP of the session (the HTTP request that opened it, or "stdio"). */
  readonly clientIp: string
  /** The connection's own credential, when the transport has no headers (stdio: MCP_STDIO_TOKEN). */
  readonly bearer?: Redacted.Redacted<string> | undefined
  /** Told when a call of this session authenticated (the HTTP layer then counts the session as authenticated). */
  readonly onAuthenticated?: (() => void) | undefined
}

/** Creates one SDK `Server` (one per MCP session: an SDK `Server` binds one transport). */
export type McpServerFactory = (defaults: McpSessionDefaults) => Server

/** The subset of the SDK's `RequestHandlerExtra` this module reads. */
export interface RequestExtra {
  readonly requestInfo?: RequestInfo | undefined
  readonly authInfo?: AuthInfo | undefined
}

const clientIpKey = "agentos.clientIp"

/**
 * Attaches the client IP of one HTTP request to the Node request, as the
 * `auth` property the SDK's Node transports forward to handlers as
 * `extra.authInfo`. This is NOT an authenticated identity (token is empty);
 * authentication is the registry's job, from the bearer header.
 */
export const stampClientIp = (request: IncomingMessage, clientIp: string): void => {
  const carrier: IncomingMessage & { auth?: AuthInfo } = request
  carrier.auth = { token: "", clientId: "", scopes: [], extra: { [clientIpKey]: clientIp } }
}

const bearerPattern = /^Bearer[ \t]+(\S.*)$/i

/** Extracts `Authorization: Bearer <token>` from SDK request headers. */
export const bearerFromHeaders = (
  headers: RequestInfo["headers"] | undefined
): Option.Option<Redacted.Redacted<string>> => {
  const raw = headers?.["authorization"]
  const value = Array.isArray(raw) ? raw[0] : raw
  if (value === undefined) return Option.none()
  const match = bearerPattern.exec(value.trim())
  const token = match?.[1]?.trim()
  return token === undefined || token === "" ? Option.none() : Option.some(Redacted.make(token))
}

/** The {@link ToolCallContext} of one call, from the SDK's handler `extra`. */
export const toolCallContext = (extra: RequestExtra, defaults: McpSessionDefaults): ToolCallContext => {
  const stamped = extra.authInfo?.extra?.[clientIpKey]
  return {
    bearer: Option.orElse(bearerFromHeaders(extra.requestInfo?.headers), () => Option.fromNullable(defaults.bearer)),
    clientIp: typeof stamped === "string" ? stamped : defaults.clientIp,
    authenticated: defaults.onAuthenticated
  }
}

const internalError: CallToolResult = {
  isError: true,
  content: [{ type: "text", text: "Internal error while running the tool." }]
}

/**
 * Captures the current runtime (to run registry effects from SDK callbacks)
 * and returns a factory of SDK servers wired to the {@link ToolRegistry}.
 */
export const make = (info: McpServerInfo): Effect.Effect<McpServerFactory, never, ToolRegistry> =>
  Effect.gen(function*() {
    const registry = yield* ToolRegistry
    const runtime = yield* Effect.runtime<never>()
    const runPromise = Runtime.runPromise(runtime)
    // ToolDescriptor is the readonly mirror of the SDK's Tool: copied, not cast.
    const listResult: ListToolsResult = { tools: registry.tools.map((tool) => ({ ...tool })) }

    return (defaults) => {
      const server = new Server(
        { name: info.name, version: info.version },
        { capabilities: { tools: {} } }
      )
      server.setRequestHandler(ListToolsRequestSchema, () => listResult)
      server.setRequestHandler(CallToolRequestSchema, (request, extra) => {
        const name = request.params.name
        const call = registry.call(name, request.params.arguments ?? {}, toolCallContext(extra, defaults)).pipe(
          Effect.catchAllDefect((defect) =>
            Effect.as(Effect.logError("MCP tool call died", defect), internalError)
          ),
          Effect.withSpan("mcp.tools.call", { attributes: { "mcp.tool.name": name } })
        )
        // A client-side cancellation aborts the signal and interrupts the call.
        return runPromise(call, { signal: extra.signal })
      })
      return server
    }
  })
