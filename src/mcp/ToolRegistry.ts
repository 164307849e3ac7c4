import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"

/**
 * What the transport knows about the caller of one tool call. Transports never
 * interpret it: the registry authenticates.
 */
export interface ToolCallContext {
  /** `Authorization: Bearer …` of the MCP HTTP request that carried the call (none over stdio). */
  readonly bearer: Option.Option<Redacted.Redacted<string>>
  /** Remote address of the HTTP connection, or "stdio". */
  readonly clientIp: string
  /**
   * Told once a call of this connection authenticated: the transport then
   * stops treating the session as anonymous (see McpHttp).
   */
  readonly authenticated?: (() => void) | undefined
}

/** One tool as MCP `tools/list` describes it (JSON Schemas generated from Effect Schemas). */
export interface ToolDescriptor {
  readonly name: string
  readonly title?: string
  readonly description: string
  readonly inputSchema: { readonly type: "object"; readonly [k: string]: unknown }
  readonly outputSchema?: { readonly type: "object"; readonly [k: string]: unknown }
  readonly annotations?: {
    readonly readOnlyHint?: boolean
    readonly destructiveHint?: boolean
    readonly idempotentHint?: boolean
    readonly openWorldHint?: boolean
  }
}

/**
 * The transport-independent tool surface. `call` never fails: every error is
 * already a tool result with `isError: true`.
 */
export class ToolRegistry extends Context.Tag("app/mcp/ToolRegistry")<ToolRegistry, {
  readonly tools: ReadonlyArray<ToolDescriptor>
  readonly call: (name: string, args: unknown, ctx: ToolCallContext) => Effect.Effect<CallToolResult>
  /**
   * Whether a bearer token presented on a connection is valid (master or a live
   * agent token). Never fails and records nothing: a wrong token on the
   * connection is answered by the tool call that uses it.
   */
  readonly verifyBearer: (bearer: Redacted.Redacted<string>) => Effect.Effect<boolean>
}>() {}
