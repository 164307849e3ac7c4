import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as OtelMetrics from "@effect/opentelemetry/Metrics"
import * as OtelResource from "@effect/opentelemetry/Resource"
import { PrometheusExporter, PrometheusSerializer } from "@opentelemetry/exporter-prometheus"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import pkg from "../../package.json" with { type: "json" }

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

export const MetricsRoute = HttpLayerRouter.add(
  "GET",
  "/metrics",
  Effect.gen(function*() {
    const exporter = yield* MetricsExporter
    const { resourceMetrics } = yield* Effect.promise(() => exporter.collect())
    return HttpServerResponse.text(ours(serializer.serialize(resourceMetrics)), {
      contentType: "text/plain; version=0.0.4; charset=utf-8"
    })
  })
)
