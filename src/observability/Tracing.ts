import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as OtlpSerialization from "@effect/opentelemetry/OtlpSerialization"
import * as OtlpTracer from "@effect/opentelemetry/OtlpTracer"
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import pkg from "../../package.json" with { type: "json" }

/**
 * OTLP/HTTP trace export when OTEL_EXPORTER_OTLP_ENDPOINT is set (the
 * collector's base URL; spans go to `<base>/v1/traces`), through
 * `@effect/opentelemetry`'s OtlpTracer, which needs no OTel Node SDK. Every
 * `Effect.fn`/`withSpan` span of a tool call or webhook (tool, actor, guard,
 * provider, `sql.execute`) is part of one trace. Nothing is set up otherwise.
 *
 * Provide it around the whole app (it replaces the tracer for everything
 * built inside). The collector is the operator's, so the plain fetch client
 * is used, not the outbound URL policy.
 */
export const tracingLayer = (options: {
  readonly endpoint: string
  readonly exportInterval?: Duration.DurationInput | undefined
  readonly serviceName?: string | undefined
}) =>
  OtlpTracer.layer({
    url: `${options.endpoint.replace(/\/+$/, "")}/v1/traces`,
    resource: { serviceName: options.serviceName ?? "agentos-comms", serviceVersion: pkg.version },
    exportInterval: options.exportInterval ?? Duration.seconds(5)
  }).pipe(Layer.provide([FetchHttpClient.layer, OtlpSerialization.layerJson]))

export const TracingLive = Layer.unwrapEffect(
  Effect.map(
    Config.option(Config.string("OTEL_EXPORTER_OTLP_ENDPOINT")),
    Option.match({
      onNone: () => Layer.empty,
      onSome: (endpoint) =>
        tracingLayer({ endpoint }).pipe(Layer.tap(() => Effect.logInfo("trace export on").pipe(
          Effect.annotateLogs({ otlp: "traces" })
        )))
    })
  )
)
