import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import type * as SqlClient from "@effect/sql/SqlClient"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { createServer } from "node:http"
import pkg from "../package.json" with { type: "json" }
import { ProvidersLive } from "../layers/Providers.ts"
import { AgentRuntimeLive } from "../layers/Runtime.ts"
import { AgentPool } from "./agents/AgentPool.ts"
import { AgentsRepo } from "./agents/AgentsRepo.ts"
import { Provisioning } from "./agents/Provisioning.ts"
import { WhatsAppPool } from "./agents/WhatsAppPool.ts"
import { AppConfig } from "./config/AppConfig.ts"
import * as Database from "./db/Database.ts"
import * as Migrations from "./db/Migrations.ts"
import { Api } from "./http/Api.ts"
import { AdminAuthLive, AdminLive, HealthLive } from "./http/ApiHandlers.ts"
import { OutboundUrlPolicy } from "./http/OutboundUrlPolicy.ts"
import { PublicUrl } from "./http/PublicUrl.ts"
import { makeClientAddress } from "./http/ClientAddress.ts"
import { applyConnectionLimits } from "./http/ConnectionLimits.ts"
import { EdgeGuardLive } from "./http/EdgeGuard.ts"
import * as McpHttp from "./mcp/McpHttp.ts"
import { ToolRegistryLive } from "./mcp/Tools.ts"
import { AuditLog } from "./observability/AuditLog.ts"
import { AgentTokens } from "./security/AgentTokens.ts"
import { Authenticator } from "./security/Authenticator.ts"
import { AuthLockout } from "./security/AuthLockout.ts"
import { AgentGuard } from "./policy/AgentGuard.ts"
import { Compliance } from "./policy/Compliance.ts"
import { UsageDashboard } from "./billing/UsageDashboard.ts"
import { Cipher } from "./security/Cipher.ts"
import { MessagesRepo } from "./messaging/MessagesRepo.ts"
import { Outbound } from "./messaging/Outbound.ts"
import { WhatsAppTemplates } from "./messaging/WhatsAppTemplates.ts"
import { ContentFilter } from "./policy/ContentFilter.ts"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { OutboxDeliverer, OutboxDelivererLive } from "./callbacks/OutboxDeliverer.ts"
import { Erasure } from "./messaging/Erasure.ts"
import { Inbound } from "./messaging/Inbound.ts"
import { Retention, RetentionLive } from "./messaging/Retention.ts"
import { InboundHooks } from "./webhooks/InboundHooks.ts"
import { WebhookRoutes } from "./webhooks/WebhookRoutes.ts"
import { Unsubscribe, UnsubscribeRoutes } from "./http/Unsubscribe.ts"
import { MetricsLive, MetricsRoute } from "./observability/Metrics.ts"
import { AlertManager, AlertManagerLive } from "./observability/AlertManager.ts"
import { AnomalyDetector } from "./security/AnomalyDetector.ts"
import { CallAdmission } from "./voice/CallAdmission.ts"
import { VoiceProvidersLive } from "../layers/Voice.ts"
import { MediaUrls } from "./voice/MediaUrls.ts"
import { PriceTable } from "./billing/PriceTable.ts"
import { VoiceCalls } from "./voice/VoiceCalls.ts"
import { VoiceMessages } from "./voice/VoiceMessages.ts"
import { VoiceRoutes } from "./voice/VoiceRoutes.ts"
import { VoiceWebhookAuth } from "./voice/VoiceWebhookAuth.ts"

/**
 * The database, handed out only once migrated: layers that need SqlClient are
 * built after the migrations ran (independent layers build concurrently, so
 * running migrations beside them would race).
 */
export const MigratedDatabase = Layer.effectContext(
  Effect.zipRight(Migrations.run, Effect.context<SqlClient.SqlClient | Database.DatabaseInfo>())
).pipe(Layer.provide(Database.layer))

/** Config, public URL, an HTTP client and the migrated database. */
export const InfraLive = Layer.mergeAll(
  MigratedDatabase,
  PublicUrl.Default,
  FetchHttpClient.layer,
  MetricsLive,
  OutboundUrlPolicy.Default
).pipe(
  Layer.provideMerge(AppConfig.Default)
)

/**
 * The domain: repositories, security, the agent runtime, the inbound path
 * and the tool registry; needs provider ports.
 */
export const DomainServices = ToolRegistryLive.pipe(
  Layer.provideMerge(Layer.mergeAll(VoiceCalls.Default, VoiceMessages.Default, VoiceWebhookAuth.Default)),
  Layer.provideMerge(Layer.merge(Inbound.Default, Erasure.Default)),
  Layer.provideMerge(InboundHooks.Default),
  Layer.provideMerge(AgentRuntimeLive),
  Layer.provideMerge(Layer.mergeAll(Provisioning.Default, Outbound.Default, Retention.Default, CallAdmission.Default)),
  Layer.provideMerge(Layer.mergeAll(
    Authenticator.Default,
    MessagesRepo.Default,
    OutboxDeliverer.Default,
    AgentGuard.Default,
    UsageDashboard.Default,
    Unsubscribe.Default
  )),
  // the detector raises admin alerts; the authenticator consults the detector
  Layer.provideMerge(AnomalyDetector.Default),
  Layer.provideMerge(AlertManager.Default),
  Layer.provideMerge(Layer.mergeAll(
    AgentTokens.Default,
    AuthLockout.Default,
    AuditLog.Default,
    AgentPool.Default,
    AgentsRepo.Default,
    WhatsAppPool.Default,
    WhatsAppTemplates.Default,
    ContentFilter.Default,
    Compliance.Default,
    Cipher.Default,
    MediaUrls.Default,
    PriceTable.Default
  )),
  Layer.provideMerge(VoiceProvidersLive)
)

/**
 * Background loops of the running app: callback outbox delivery and the
 * retention sweep. Not part of `DomainServices`, so that tests of the domain
 * (layers/Test.ts, often on a TestClock) drive them by hand.
 */
export const BackgroundLive = Layer.mergeAll(OutboxDelivererLive, RetentionLive, AlertManagerLive)

/** The domain over the providers chosen from config, with its background loops. */
export const DomainLive = BackgroundLive.pipe(Layer.provideMerge(DomainServices), Layer.provideMerge(ProvidersLive))

export const AppLive = DomainLive.pipe(Layer.provideMerge(InfraLive))

/** Every HTTP route: MCP (Streamable HTTP + SSE), provider webhooks, health, admin and /openapi.json. */
export const RoutesLive = Layer.unwrapEffect(Effect.map(AppConfig, (config) =>
  Layer.mergeAll(
    McpHttp.layer({
      server: { name: config.serverName, version: pkg.version },
      maxSessions: config.mcpMaxSessions,
      anonymousSessionsPerAddress: config.mcpAnonymousSessionsPerAddress,
      anonymousIdleTimeout: Duration.seconds(config.mcpAnonymousIdleSeconds),
      clientAddress: makeClientAddress(config.trustedProxies).fromRequest
    }),
    EdgeGuardLive,
    WebhookRoutes,
    VoiceRoutes,
    UnsubscribeRoutes,
    MetricsRoute,
    HttpLayerRouter.addHttpApi(Api, { openapiPath: "/openapi.json" }).pipe(
      Layer.provide([HealthLive, AdminLive])
    )
  )))

/** Once listening, the bound port becomes the public URL (unless WEBHOOK_BASE_URL says otherwise). */
const AnnounceAddress = Layer.effectDiscard(Effect.gen(function*() {
  const server = yield* HttpServer.HttpServer
  const publicUrl = yield* PublicUrl
  if (server.address._tag === "TcpAddress") yield* publicUrl.bound(server.address.port)
}))

/** The HTTP server on HOST:PORT (PORT=0 picks a free port), serving every route; exposes HttpServer for its address. */
export const HttpLive = Layer.unwrapEffect(Effect.map(AppConfig, (config) => {
  // connectionsCheckingInterval: the request/headers timeouts are enforced within a second
  const node = createServer({ connectionsCheckingInterval: 1000 })
  applyConnectionLimits(node, {
    headersTimeoutSeconds: config.httpHeadersTimeoutSeconds,
    requestTimeoutSeconds: config.httpRequestTimeoutSeconds,
    keepAliveTimeoutSeconds: config.httpKeepAliveTimeoutSeconds,
    maxConnectionsPerAddress: config.maxConnectionsPerAddress,
    isTrustedProxy: makeClientAddress(config.trustedProxies).isTrustedProxy
  })
  /**
   * On shutdown, idle keep-alive connections are closed at once and any
   * request still open after a grace period is cut, so that `server.close()`
   * cannot wait on a client that is waiting on this server (the sandbox
   * carrier's own deliveries, long-lived MCP streams).
   */
  const CloseConnections = Layer.scopedDiscard(Effect.addFinalizer(() =>
    Effect.sync(() => node.closeIdleConnections()).pipe(
      Effect.zipRight(Effect.forkDaemon(Effect.delay(Effect.sync(() => node.closeAllConnections()), "2 seconds")))
    )
  ))
  // the access log is EdgeGuard's (redacted paths, client disconnects not errors)
  return HttpLayerRouter.serve(RoutesLive, { disableLogger: true }).pipe(
    Layer.merge(AnnounceAddress),
    Layer.merge(CloseConnections),
    // the admin middleware runs per request, so it is provided to the served app
    Layer.provide(AdminAuthLive),
    Layer.provideMerge(NodeHttpServer.layer(() => node, { port: config.port, host: config.host }))
  )
}))
