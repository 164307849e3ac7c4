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
import { recordAction, recordActionDuration } from "../observability/Metrics.ts"
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
import { MakeCall } from "./tools/MakeCall.ts"
import { TransferCall } from "./tools/TransferCall.ts"
import { SendVoiceMessage } from "./tools/SendVoiceMessage.ts"
import type { VoiceCalls } from "../voice/VoiceCalls.ts"
import type { VoiceMessages } from "../voice/VoiceMessages.ts"

/** Every tool this release registers: only tools that work. */
export const AllTools: ReadonlyArray<
  Tool.Tool<Authenticator | AgentRuntime | ProviderCredentials | AuditLog | MessagesRepo | UsageDashboard | VoiceCalls | VoiceMessages>
> = [
  ProvisionChannels,
  DeprovisionChannels,
  GetChannelStatus,
  SendMessage,
  GetMessages,
  GetUsageDashboard,
  SetAgentLimits,
  RegisterProvider,
  MakeCall,
  TransferCall,
  SendVoiceMessage
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

const field = (value: unknown, key: string): unknown =>
  typeof value === "object" && value !== null && Object.prototype.hasOwnProperty.call(value, key)
    ? (value as Readonly<Record<string, unknown>>)[key]
    : undefined

/**
 * Metrics of a successful tool call: its latency under its action type, and
 * for a message that went out (sent or queued) the count and cost per agent
 * and channel. Refusals (rate_limited) are counted by the guard instead.
 */
const recordToolMetrics = (name: string, args: unknown, out: unknown, seconds: number) => {
  const actionType = name.replace(/^comms_/, "")
  const status = field(out, "status")
  const channel = field(out, "channel")
  const cost = field(out, "cost")
  const agent = field(args, "agentId")
  if (
    name === "comms_send_message" && (status === "sent" || status === "queued") &&
    typeof channel === "string" && typeof agent === "string"
  ) {
    return recordAction({ agent, channel, actionType, cost: typeof cost === "number" ? cost : 0, durationSeconds: seconds })
  }
  return recordActionDuration(actionType, seconds)
}

/**
 * The registry behind every MCP transport: finds the tool, authenticates with
 * the `securityToken` argument or else the connection's Bearer token, runs it,
 * and turns every typed error into `{ error: { code, message } }` with
 * `isError: true`. Defects become `internal_error` and are logged, without PII.
 */
export const ToolRegistryLive = Layer.effect(
  ToolRegistry,
  Effect.gen(function*() {
    const context = yield* Effect.context<
      Authenticator | AgentRuntime | ProviderCredentials | AuditLog | MessagesRepo | UsageDashboard | VoiceCalls | VoiceMessages
    >()
    const auth = yield* Authenticator
    const byName = new Map(AllTools.map((t) => [t.descriptor.name, t]))
    return ToolRegistry.of({
      tools: AllTools.map((t) => t.descriptor),
      verifyBearer: (bearer) => auth.identify(bearer),
      call: (name, args, ctx) => {
        const tool = byName.get(name)
        if (tool === undefined) {
          return Effect.succeed(
            errorResult({ error: { code: "not_found", message: `unknown tool: ${name.slice(0, 64)}` } })
          )
        }
        const authenticate: Tool.Authenticate = (securityToken) =>
          auth.authenticate(
            securityToken !== undefined && securityToken.length > 0
              ? Option.some(Redacted.make(securityToken))
              : ctx.bearer,
            ctx.clientIp
          ).pipe(Effect.tap(() => Effect.sync(() => ctx.authenticated?.())))
        const started = Date.now()
        return tool.run(args, authenticate).pipe(
          Effect.tap((out) => recordToolMetrics(name, args, out, (Date.now() - started) / 1000)),
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
