import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { type ErrorBody, toErrorBody } from "../../schema/Errors.ts"
import type { AgentRuntime } from "../agents/AgentRuntime.ts"
import type { MessagesRepo } from "../messaging/MessagesRepo.ts"
import type { UsageDashboard } from "../billing/UsageDashboard.ts"
import { Authenticator } from "../security/Authenticator.ts"
import type * as Tool from "./Tool.ts"
import { ToolRegistry } from "./ToolRegistry.ts"
import { DeprovisionChannels } from "./tools/DeprovisionChannels.ts"
import { GetChannelStatus } from "./tools/GetChannelStatus.ts"
import { ProvisionChannels } from "./tools/ProvisionChannels.ts"
import { GetMessages } from "./tools/GetMessages.ts"
import { SendMessage } from "./tools/SendMessage.ts"
import { GetUsageDashboard } from "./tools/GetUsageDashboard.ts"
import { SetAgentLimits } from "./tools/SetAgentLimits.ts"
import { RegisterProvider } from "./tools/RegisterProvider.ts"
import type { ProviderCredentials } from "../providers/ProviderCredentials.ts"
import type { AuditLog } from "../observability/AuditLog.ts"

/** Every tool this release registers: only tools that work. */
export const AllTools: ReadonlyArray<Tool.Tool<Authenticator | AgentRuntime | MessagesRepo | UsageDashboard | ProviderCredentials | AuditLog>> = [
  ProvisionChannels,
  DeprovisionChannels,
  GetChannelStatus,
  SendMessage,
  GetMessages,
  GetUsageDashboard,
  SetAgentLimits,
  RegisterProvider
]

const result = (json: unknown, isError: boolean): CallToolResult => ({
  content: [{ type: "text", text: JSON.stringify(json) }],
  ...(isError ? { isError: true } : { structuredContent: json as Record<string, unknown> })
})

/**
 * Errors travel as text only: clients validate `structuredContent` against the
 * tool's outputSchema even when `isError` is set (the SDK client throws then).
 */
const errorResult = (body: ErrorBody): CallToolResult => ({
  content: [{ type: "text", text: JSON.stringify(body) }],
  isError: true
})

/**
 * The registry behind every MCP transport: finds the tool, authenticates with
 * the `securityToken` argument or else the connection's Bearer token, runs it,
 * and turns every typed error into `{ error: { code, message } }` with
 * `isError: true`. Defects become `internal_error` and are logged, without PII.
 */
export const ToolRegistryLive = Layer.effect(
  ToolRegistry,
  Effect.gen(function*() {
    const context = yield* Effect.context<Authenticator | AgentRuntime | MessagesRepo | UsageDashboard | ProviderCredentials | AuditLog>()
    const auth = yield* Authenticator
    const byName = new Map(AllTools.map((t) => [t.descriptor.name, t]))
    return ToolRegistry.of({
      tools: AllTools.map((t) => t.descriptor),
      call: (name, args, ctx) => {
        const tool = byName.get(name)
        if (tool === undefined) {
          return Effect.succeed(errorResult({ error: { code: "not_found", message: `unknown tool: ${name}` } }))
        }
        const authenticate: Tool.Authenticate = (securityToken) =>
          auth.authenticate(
            securityToken !== undefined && securityToken.length > 0
              ? Option.some(Redacted.make(securityToken))
              : ctx.bearer,
            ctx.clientIp
          )
        const started = Date.now()
        return tool.run(args, authenticate).pipe(
          Effect.map((out) => result(out, false)),
          Effect.tap(() =>
            Effect.logInfo("tool_call").pipe(
              Effect.annotateLogs({ tool: name, outcome: "ok", durationMs: Date.now() - started })
            )
          ),
          Effect.catchAll((e) =>
            Effect.as(
              Effect.logInfo("tool_call").pipe(
                Effect.annotateLogs({ tool: name, outcome: e.code, durationMs: Date.now() - started })
              ),
              errorResult(toErrorBody(e))
            )
          ),
          Effect.catchAllCause((cause) =>
            Effect.as(
              Effect.logError("tool_call crashed").pipe(
                Effect.annotateLogs({ tool: name, outcome: "internal_error", defect: Cause.isDie(cause) })
              ),
              errorResult({ error: { code: "internal_error", message: "internal error; the call may be retried" } })
            )
          ),
          Effect.provide(context)
        )
      }
    })
  })
)
