import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import pkg from "../../package.json" with { type: "json" }
import { AgentPool } from "../agents/AgentPool.ts"
import { AgentsRepo } from "../agents/AgentsRepo.ts"
import { AppConfig } from "../config/AppConfig.ts"
import { Erasure } from "../messaging/Erasure.ts"
import { WhatsAppTemplates } from "../messaging/WhatsAppTemplates.ts"
import { AuditLog } from "../observability/AuditLog.ts"
import { AlertManager } from "../observability/AlertManager.ts"
import { AnomalyDetector } from "../security/AnomalyDetector.ts"
import { EmailProvider } from "../providers/EmailProvider.ts"
import { Telephony } from "../providers/Telephony.ts"
import { VoiceOrchestrator } from "../providers/VoiceOrchestrator.ts"
import { WhatsAppSenders } from "../providers/WhatsAppSenders.ts"
import { AgentTokens } from "../security/AgentTokens.ts"
import { constantTimeEqual } from "../webhooks/verify.ts"
import { Compliance } from "../policy/Compliance.ts"
import { AdminAuth, Api } from "./Api.ts"
import { AgentRuntimeInfo } from "../agents/cluster/RuntimeInfo.ts"

const startedAt = Date.now()

export const HealthLive = HttpApiBuilder.group(Api, "health", (handlers) =>
  Effect.gen(function*() {
    const config = yield* AppConfig
    const sql = yield* SqlClient.SqlClient
    const telephony = yield* Telephony
    const email = yield* EmailProvider
    const voice = yield* VoiceOrchestrator
    const whatsapp = yield* WhatsAppSenders
    const runtimeInfo = yield* AgentRuntimeInfo
    const probes = [
      ["telephony", telephony],
      ["email", email],
      ["voice", voice],
      ["whatsapp", whatsapp]
    ] as const
    return handlers
      .handle("health", () =>
        Effect.succeed({
          status: "ok" as const,
          uptime: Math.round((Date.now() - startedAt) / 1000),
          version: pkg.version,
          mode: config.demoMode ? "sandbox" as const : "live" as const
        }))
      .handle("ready", () =>
        Effect.gen(function*() {
          const database = yield* sql`SELECT 1`.pipe(
            Effect.as("ok" as const),
            Effect.timeout("3 seconds"),
            Effect.orElseSucceed(() => "error" as const)
          )
          const providers: Record<string, "ok" | "error"> = {}
          for (const [slot, p] of probes) {
            const h = yield* p.health.pipe(Effect.timeout("3 seconds"), Effect.orElseSucceed(() => ({ status: "error" })))
            providers[`${slot}:${p.provider}`] = h.status === "ok" ? "ok" : "error"
          }
          const ready = database === "ok" && Object.values(providers).every((s) => s === "ok")
          const runtime = yield* runtimeInfo.describe
          const body = { status: ready ? "ready" as const : "not_ready" as const, database, providers, runtime }
          return ready ? body : yield* Effect.fail(body)
        }))
  }))

const DateLike = Schema.Union(Schema.DateFromSelf, Schema.DateFromString)
const MediaItems = Schema.Array(Schema.Struct({ url: Schema.String, contentType: Schema.String }))
const SandboxOutboxRow = Schema.Struct({
  id: Schema.String,
  providerMessageId: Schema.String,
  channel: Schema.String,
  fromAddress: Schema.String,
  toAddress: Schema.String,
  subject: Schema.NullOr(Schema.String),
  body: Schema.NullOr(Schema.String),
  media: Schema.Union(MediaItems, Schema.parseJson(MediaItems)),
  bcc: Schema.NullOr(Schema.String),
  status: Schema.String,
  createdAt: DateLike
})

export const AdminAuthLive = Layer.effect(
  AdminAuth,
  Effect.map(AppConfig, (config) => {
    const expected = Redacted.value(config.adminToken)
    return AdminAuth.of({
      bearer: (token) =>
        constantTimeEqual(Redacted.value(token), expected)
          ? Effect.void
          : Effect.fail({ error: { code: "unauthorized" as const, message: "a valid ADMIN_TOKEN bearer token is required" } })
    })
  })
)

export const AdminLive = HttpApiBuilder.group(Api, "admin", (handlers) =>
  Effect.gen(function*() {
    const tokens = yield* AgentTokens
    const agents = yield* AgentsRepo
    const pool = yield* AgentPool
    const audit = yield* AuditLog
    const erasure = yield* Erasure
    const compliance = yield* Compliance
    const templates = yield* WhatsAppTemplates
    const detector = yield* AnomalyDetector
    const alerts = yield* AlertManager
    const sql = yield* SqlClient.SqlClient
    const decodeOutbox = Schema.decodeUnknown(Schema.Array(SandboxOutboxRow))
    const notFound = (agentId: string) => ({
      error: { code: "not_found" as const, message: `agent ${agentId} is not provisioned` }
    })
    const requireActive = (agentId: Parameters<typeof agents.find>[0]) =>
      agents.find(agentId).pipe(
        Effect.flatMap((r) =>
          Option.isSome(r) && r.value.status === "active" ? Effect.void : Effect.fail(notFound(agentId))
        )
      )
    const poolStatus = (s: { maxAgents: number; activeAgents: number }) => ({
      ...s,
      slotsRemaining: s.maxAgents - s.activeAgents
    })
    return handlers
      .handle("rotateToken", ({ path }) =>
        Effect.gen(function*() {
          yield* requireActive(path.agentId)
          const issued = yield* tokens.rotate(path.agentId, "admin").pipe(Effect.orDie)
          yield* audit.append({
            eventType: "token_rotated",
            actor: "admin",
            target: path.agentId,
            details: { tokenId: issued.tokenId, revoked: issued.revoked }
          })
          return {
            agentId: path.agentId,
            securityToken: Redacted.value(issued.token),
            expiresAt: issued.expiresAt.toISOString(),
            revoked: issued.revoked
          }
        }))
      .handle("revokeTokens", ({ path }) =>
        Effect.gen(function*() {
          yield* requireActive(path.agentId)
          const revoked = yield* tokens.revokeAll(path.agentId).pipe(Effect.orDie)
          yield* audit.append({
            eventType: "token_revoked",
            actor: "admin",
            target: path.agentId,
            details: { count: revoked, reason: "admin" }
          })
          return { agentId: path.agentId, revoked }
        }))
      .handle("pool", () => Effect.map(pool.status, poolStatus))
      .handle("expandPool", ({ payload }) =>
        Effect.gen(function*() {
          const s = yield* pool.expand(payload.by)
          yield* audit.append({ eventType: "pool_expanded", actor: "admin", details: { by: payload.by, maxAgents: s.maxAgents } })
          return poolStatus(s)
        }))
      .handle("verifyAudit", () => audit.verify)
      .handle("erasure", ({ payload }) => erasure.eraseContact(payload.contact, "admin"))
      .handle("importDnc", ({ payload }) =>
        Effect.tap(compliance.importDnc(payload.text, payload.source).pipe(Effect.orDie), (r) =>
          audit.append({
            eventType: "admin_action",
            actor: "admin",
            details: { action: "dnc_import", source: payload.source, imported: r.imported, invalid: r.invalid }
          })))
      .handle("sandboxOutbox", ({ urlParams }) =>
        sql`SELECT id, provider_message_id, channel, from_address, to_address, subject, body, media, bcc, status,
              created_at
            FROM sandbox_outbox ORDER BY created_at DESC, id DESC LIMIT ${urlParams.limit ?? 50}`.pipe(
          Effect.flatMap(decodeOutbox),
          Effect.map((rows) => ({
            messages: rows.map((r) => ({
              id: r.id,
              providerMessageId: r.providerMessageId,
              channel: r.channel,
              from: r.fromAddress,
              to: r.toAddress,
              subject: r.subject,
              body: r.body,
              media: r.media,
              bcc: r.bcc,
              status: r.status,
              createdAt: r.createdAt.toISOString()
            }))
          })),
          Effect.orDie
        ))
      .handle("registerWhatsAppTemplate", ({ payload }) =>
        Effect.gen(function*() {
          const template = yield* templates.register({
            id: payload.id,
            body: payload.body,
            language: payload.language ?? "en"
          })
          yield* audit.append({
            eventType: "admin_action",
            actor: "admin",
            details: { action: "whatsapp_template_registered", templateId: payload.id }
          })
          return template
        }))
      .handle("whatsAppTemplates", () => Effect.map(templates.list, (list) => ({ templates: list })))
      .handle("unsuspendAgent", ({ path }) =>
        Effect.map(detector.unsuspend(path.agentId, "admin"), (wasSuspended) => ({ agentId: path.agentId, wasSuspended })))
      .handle("alerts", () => Effect.map(alerts.list, (list) => ({ alerts: list })))
      .handle("ackAlert", ({ path }) =>
        Effect.gen(function*() {
          const ok = yield* alerts.ack(path.alertId)
          if (!ok) {
            return yield* Effect.fail({
              error: { code: "not_found" as const, message: "no open alert with this id" }
            })
          }
          yield* audit.append({ eventType: "alert_acknowledged", actor: "admin", target: path.alertId })
          return { id: path.alertId, acknowledged: true as const }
        }))
  }))
