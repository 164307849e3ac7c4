import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiMiddleware from "@effect/platform/HttpApiMiddleware"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as HttpApiSecurity from "@effect/platform/HttpApiSecurity"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Schema from "effect/Schema"
import { AgentId } from "../../schema/Ids.ts"
import { AlertRecord } from "../observability/AlertManager.ts"

/**
 * The REST contract (health + admin), declared as Schemas: handlers, request
 * decoding and /openapi.json all come from it. Errors are the same
 * `{ "error": { "code", "message" } }` body the MCP tools answer with.
 */
const errorBody = <const Code extends string>(code: Code, status: number) =>
  Schema.Struct({
    error: Schema.Struct({ code: Schema.Literal(code), message: Schema.String })
  }).annotations(HttpApiSchema.annotations({ status, description: code }))

export const AdminUnauthorized = errorBody("unauthorized", 401)
export const AgentNotFound = errorBody("not_found", 404)
export const AdminInvalidInput = errorBody("invalid_input", 400)

export class AdminAuth extends HttpApiMiddleware.Tag<AdminAuth>()("app/http/AdminAuth", {
  failure: AdminUnauthorized,
  security: { bearer: HttpApiSecurity.bearer }
}) {}

const Health = Schema.Struct({
  status: Schema.Literal("ok"),
  uptime: Schema.Number.annotations({ description: "seconds since start" }),
  version: Schema.String,
  mode: Schema.Literal("sandbox", "live")
})

const ProbeResult = Schema.Literal("ok", "error")
const Readiness = Schema.Struct({
  status: Schema.Literal("ready", "not_ready"),
  database: ProbeResult,
  providers: Schema.Record({ key: Schema.String, value: ProbeResult }),
  /** Where this process's agents run: in-process, or the cluster runner and the shards it owns. */
  runtime: Schema.optional(Schema.Struct({
    kind: Schema.Literal("in-process", "cluster"),
    runner: Schema.optional(Schema.String),
    shards: Schema.optional(Schema.Number),
    shardsPerGroup: Schema.optional(Schema.Number)
  }))
})
const NotReady = Readiness.annotations(HttpApiSchema.annotations({ status: 503 }))

export class HealthGroup extends HttpApiGroup.make("health")
  .add(HttpApiEndpoint.get("health", "/health").addSuccess(Health))
  .add(HttpApiEndpoint.get("ready", "/health/ready").addSuccess(Readiness).addError(NotReady))
  .annotate(OpenApi.Title, "Health")
{}

const AgentPath = Schema.Struct({ agentId: AgentId })

export const RotatedToken = Schema.Struct({
  agentId: Schema.String,
  securityToken: Schema.String,
  expiresAt: Schema.String,
  revoked: Schema.Number
})
export const RevokedTokens = Schema.Struct({ agentId: Schema.String, revoked: Schema.Number })
export const PoolStatus = Schema.Struct({
  maxAgents: Schema.Number,
  activeAgents: Schema.Number,
  slotsRemaining: Schema.Number
})
export const ExpandPool = Schema.Struct({
  by: Schema.Number.pipe(Schema.int(), Schema.between(1, 10_000)).annotations({ description: "slots to add" })
})
export const AuditVerification = Schema.Struct({
  ok: Schema.Boolean,
  rows: Schema.Number,
  brokenAt: Schema.NullOr(Schema.Number)
})

export const DncImport = Schema.Struct({
  source: Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9._-]{1,64}$/)).annotations({
    description: "Where the list comes from, e.g. ftc-2026-11 or crm-export"
  }),
  text: Schema.String.pipe(Schema.maxLength(50_000_000)).annotations({
    description: "An FTC registry area-code file (10-digit lines) or a CSV with one E.164 number per line"
  })
})
export const DncImportResult = Schema.Struct({
  imported: Schema.Number,
  alreadyListed: Schema.Number,
  invalid: Schema.Number,
  invalidLines: Schema.Array(Schema.Number)
})

export const ErasureRequest = Schema.Struct({
  contact: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(320)).annotations({
    description: "The phone number (E.164) or email address whose data is erased"
  })
})
export const ErasureResult = Schema.Struct({
  messagesDeleted: Schema.Number,
  contactFrequencyDeleted: Schema.Number,
  callLogsDeleted: Schema.Number,
  callbacksDeleted: Schema.Number.annotations({ description: "undelivered callbacks of the erased messages" })
})

export const SandboxOutboxQuery = Schema.Struct({
  limit: Schema.optional(
    Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 500)).annotations({ description: "default 50" })
  )
})
export const SandboxOutboxMessage = Schema.Struct({
  id: Schema.String,
  providerMessageId: Schema.String,
  channel: Schema.String,
  from: Schema.String,
  to: Schema.String,
  subject: Schema.NullOr(Schema.String),
  body: Schema.NullOr(Schema.String),
  media: Schema.Array(Schema.Struct({ url: Schema.String, contentType: Schema.String })),
  bcc: Schema.NullOr(Schema.String),
  status: Schema.String,
  createdAt: Schema.String
})
export const SandboxOutbox = Schema.Struct({ messages: Schema.Array(SandboxOutboxMessage) })

export const WhatsAppTemplateInput = Schema.Struct({
  id: Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9_.-]{1,200}$/, {
    message: () => "id must be 1-200 letters, digits, '_', '.' or '-'"
  })),
  body: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(1024)).annotations({
    description: "Template text; placeholders {{1}}, {{2}}… or {{name}}"
  }),
  language: Schema.optional(Schema.String.pipe(Schema.pattern(/^[a-z]{2,3}(_[A-Z]{2})?$/, {
    message: () => "language must be a code such as en or en_US"
  })))
})
export const WhatsAppTemplate = Schema.Struct({
  id: Schema.String,
  body: Schema.String,
  language: Schema.String,
  status: Schema.String
})
export const WhatsAppTemplateList = Schema.Struct({ templates: Schema.Array(WhatsAppTemplate) })

export const Unsuspended = Schema.Struct({ agentId: Schema.String, wasSuspended: Schema.Boolean })
export const AlertList = Schema.Struct({ alerts: Schema.Array(AlertRecord) })
export const AlertAcked = Schema.Struct({ id: Schema.String, acknowledged: Schema.Literal(true) })
const AlertPath = Schema.Struct({ alertId: Schema.String.pipe(Schema.maxLength(64)) })
export const AlertNotFound = errorBody("not_found", 404)

export class AdminGroup extends HttpApiGroup.make("admin")
  .add(
    HttpApiEndpoint.post("rotateToken", "/agents/:agentId/tokens/rotate")
      .setPath(AgentPath)
      .addSuccess(RotatedToken)
      .addError(AgentNotFound)
  )
  .add(
    HttpApiEndpoint.post("revokeTokens", "/agents/:agentId/tokens/revoke")
      .setPath(AgentPath)
      .addSuccess(RevokedTokens)
      .addError(AgentNotFound)
  )
  .add(HttpApiEndpoint.get("pool", "/pool").addSuccess(PoolStatus))
  .add(HttpApiEndpoint.post("expandPool", "/pool/expand").setPayload(ExpandPool).addSuccess(PoolStatus))
  .add(HttpApiEndpoint.get("verifyAudit", "/audit/verify").addSuccess(AuditVerification))
  .add(
    HttpApiEndpoint.post("importDnc", "/dnc/import")
      .setPayload(DncImport)
      .addSuccess(DncImportResult)
      .annotate(OpenApi.Description, "Adds numbers to the do-not-call list (national registry files or a CSV)")
  )
  .add(
    HttpApiEndpoint.post("erasure", "/erasure")
      .setPayload(ErasureRequest)
      .addSuccess(ErasureResult)
      .annotate(OpenApi.Description, "GDPR erasure: deletes a contact's messages, call logs and counters")
  )
  .add(
    HttpApiEndpoint.get("sandboxOutbox", "/sandbox/outbox")
      .setUrlParams(SandboxOutboxQuery)
      .addSuccess(SandboxOutbox)
      .annotate(OpenApi.Description, "What the sandbox carrier delivered outside the server (newest first)")
  )
  .add(
    HttpApiEndpoint.post("registerWhatsAppTemplate", "/whatsapp/templates")
      .setPayload(WhatsAppTemplateInput)
      .addSuccess(WhatsAppTemplate)
  )
  .add(HttpApiEndpoint.get("whatsAppTemplates", "/whatsapp/templates").addSuccess(WhatsAppTemplateList))
  .add(
    HttpApiEndpoint.post("unsuspendAgent", "/agents/:agentId/unsuspend")
      .setPath(AgentPath)
      .addSuccess(Unsuspended)
      .annotate(OpenApi.Description, "Lifts an anomaly auto-suspension: the agent's tokens work again")
  )
  .add(
    HttpApiEndpoint.get("alerts", "/alerts")
      .addSuccess(AlertList)
      .annotate(OpenApi.Description, "Admin alert history, newest first")
  )
  .add(
    HttpApiEndpoint.post("ackAlert", "/alerts/:alertId/ack")
      .setPath(AlertPath)
      .addSuccess(AlertAcked)
      .addError(AlertNotFound)
      .annotate(OpenApi.Description, "Acknowledges a CRITICAL alert: it stops repeating")
  )
  .middleware(AdminAuth)
  .prefix("/admin")
  .annotate(OpenApi.Title, "Admin")
  .annotate(OpenApi.Description, "Operator endpoints, authenticated with ADMIN_TOKEN as a Bearer token")
{}

export class Api extends HttpApi.make("agentos-comms").add(HealthGroup).add(AdminGroup).annotate(
  OpenApi.Title,
  "agentos-comms"
) {}
