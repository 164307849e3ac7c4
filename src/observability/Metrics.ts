import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as OtelMetrics from "@effect/opentelemetry/Metrics"
import * as OtelResource from "@effect/opentelemetry/Resource"
import { PrometheusExporter, PrometheusSerializer } from "@opentelemetry/exporter-prometheus"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import pkg from "../../package.json" with { type: "json" }
import { AgentPool } from "../agents/AgentPool.ts"
import { AppConfig } from "../config/AppConfig.ts"
import { constantTimeEqual } from "../webhooks/verify.ts"

// ---- The spec's metrics (Observability § Metrics) ---------------------------

/** `comms_actions_total{agent, channel, action_type}` */
export const actionsTotal = Metric.counter("comms_actions_total", {
  description: "Actions taken, per agent, channel and action type",
  incremental: true
})
/** `comms_action_cost_total{agent, channel}` (USD) */
export const actionCostTotal = Metric.counter("comms_action_cost_total", {
  description: "Cumulative cost of actions in USD, per agent and channel",
  incremental: true
})
/** `comms_action_duration_seconds{action_type}` */
export const actionDuration = Metric.histogram(
  "comms_action_duration_seconds",
  MetricBoundaries.fromIterable([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]),
  "Latency of actions (tool calls), per action type"
)
/** `comms_webhook_requests_total{agent, provider, status}` */
export const webhookRequests = Metric.counter("comms_webhook_requests_total", {
  description: "Inbound webhook requests, per agent, provider and HTTP status",
  incremental: true
})
/** `comms_active_calls{agent}` */
export const activeCalls = Metric.gauge("comms_active_calls", { description: "Live voice calls, per agent" })
/** `comms_agent_pool_used` */
export const agentPoolUsed = Metric.gauge("comms_agent_pool_used", { description: "Agent pool slots in use" })
/** `comms_agent_pool_total` */
export const agentPoolTotal = Metric.gauge("comms_agent_pool_total", { description: "Agent pool slots in total" })
/** `comms_security_events_total{type}` */
export const securityEvents = Metric.counter("comms_security_events_total", {
  description: "Security events: auth failures, lockouts, rejected hosts, throttled addresses, anomalies, suspensions",
  incremental: true
})

/**
 * Label values that come from requests (agent ids in webhook paths) are
 * bounded: beyond this many distinct values, further ones count as "other",
 * so a scanner cannot blow up the series count.
 */
const MAX_AGENT_LABELS = 2_000
const seenAgents = new Set<string>()
const agentLabel = (agent: string): string => {
  if (seenAgents.has(agent)) return agent
  if (seenAgents.size >= MAX_AGENT_LABELS) return "other"
  seenAgents.add(agent)
  return agent
}

const labels = (tags: Readonly<Record<string, string>>) =>
  Object.entries(tags).map(([k, v]) => MetricLabel.make(k, v))

export type SecurityEventType =
  | "auth_failure"
  | "auth_lockout"
  | "host_rejected"
  | "rate_limited_address"
  | "forged_webhook"
  | "anomaly"
  | "agent_suspended"

export const recordSecurityEvent = (type: SecurityEventType): Effect.Effect<void> =>
  Metric.increment(Metric.tagged(securityEvents, "type", type))

/** One action (a send, a call …): count, cost and latency. */
export const recordAction = (action: {
  readonly agent: string
  readonly channel: string
  readonly actionType: string
  readonly cost: number
  readonly durationSeconds: number
}): Effect.Effect<void> =>
  Effect.all([
    Metric.increment(
      Metric.taggedWithLabels(actionsTotal, labels({
        agent: agentLabel(action.agent),
        channel: action.channel,
        action_type: action.actionType
      }))
    ),
    // a counter's update adds the value
    Metric.update(
      Metric.taggedWithLabels(actionCostTotal, labels({ agent: agentLabel(action.agent), channel: action.channel })),
      action.cost
    ),
    Metric.update(Metric.tagged(actionDuration, "action_type", action.actionType), action.durationSeconds)
  ], { discard: true })

/** Latency of an action whose count is recorded elsewhere (every tool call). */
export const recordActionDuration = (actionType: string, durationSeconds: number): Effect.Effect<void> =>
  Metric.update(Metric.tagged(actionDuration, "action_type", actionType), durationSeconds)

/** An inbound webhook request, from its path `/webhooks/<agent>/<kind>` and the answer's status. */
export const recordWebhookRequest = (path: string, status: number, provider = "unknown"): Effect.Effect<void> => {
  const agent = decodeURIComponent(path.split("/")[2] ?? "unknown")
  return Metric.increment(
    Metric.taggedWithLabels(webhookRequests, labels({ agent: agentLabel(agent), provider, status: String(status) }))
  )
}

/** Live calls of one agent (set by the voice path when a call starts or ends). */
export const setActiveCalls = (agent: string, live: number): Effect.Effect<void> =>
  Metric.set(Metric.tagged(activeCalls, "agent", agentLabel(agent)), live)

/** The Prometheus reader every Effect `Metric` of the process is exported through. */
export class MetricsExporter extends Context.Tag("app/observability/MetricsExporter")<
  MetricsExporter,
  PrometheusExporter
>() {}

/**
 * Effect metrics (comms_rate_limit_hits_total, …) exported through
 * OpenTelemetry to a Prometheus reader that we serve ourselves at /metrics
 * (no second HTTP server: `preventServerStart`).
 */
export const MetricsLive = Layer.unwrapEffect(Effect.sync(() => {
  const exporter = new PrometheusExporter({ preventServerStart: true })
  return Layer.merge(
    Layer.succeed(MetricsExporter, exporter),
    OtelMetrics.layer(() => exporter).pipe(
      Layer.provide(OtelResource.layer({ serviceName: "agentos-comms", serviceVersion: pkg.version }))
    )
  )
}))

const serializer = new PrometheusSerializer()

/** Effect's own fiber metrics are runtime internals with dozens of buckets: not served. */
const ours = (text: string) =>
  text.split("\n").filter((line) => !/^(# (HELP|TYPE|UNIT) )?effect_/.test(line)).join("\n")

const bearerPattern = /^Bearer[ \t]+(\S+)\s*$/i

/**
 * GET /metrics: Prometheus text. With METRICS_TOKEN set, only with
 * `Authorization: Bearer <METRICS_TOKEN>` (401 otherwise). Pool gauges are
 * read at scrape time.
 */
export const MetricsRoute = Layer.unwrapEffect(Effect.gen(function*() {
  const config = yield* AppConfig
  const pool = yield* AgentPool
  const expected = Option.map(config.metricsToken, Redacted.value)
  // no live call yet is a value too: the series exists from the start
  yield* Metric.set(activeCalls, 0)
  return HttpLayerRouter.add(
    "GET",
    "/metrics",
    (request) =>
      Effect.gen(function*() {
        if (Option.isSome(expected)) {
          const presented = bearerPattern.exec(request.headers["authorization"] ?? "")?.[1] ?? ""
          if (!constantTimeEqual(presented, expected.value)) {
            return HttpServerResponse.unsafeJson(
              { error: { code: "unauthorized", message: "a valid METRICS_TOKEN bearer token is required" } },
              { status: 401, headers: { "www-authenticate": "Bearer" } }
            )
          }
        }
        const status = yield* pool.status.pipe(Effect.option)
        if (Option.isSome(status)) {
          yield* Metric.set(agentPoolUsed, status.value.activeAgents)
          yield* Metric.set(agentPoolTotal, status.value.maxAgents)
        }
        const exporter = yield* MetricsExporter
        const { resourceMetrics } = yield* Effect.promise(() => exporter.collect())
        return HttpServerResponse.text(ours(serializer.serialize(resourceMetrics)), {
          contentType: "text/plain; version=0.0.4; charset=utf-8"
        })
      })
  )
}))
