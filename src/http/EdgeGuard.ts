/**
 * What every HTTP request meets first (a global router middleware):
 *
 * 1. Host and Origin validation on the surfaces a browser must not drive
 *    (`/mcp`, `/sse`, `/messages`, `/admin`, `/metrics`): the Host must be
 *    one the server is reached by (loopback names, the host of
 *    WEBHOOK_BASE_URL, ALLOWED_HOSTS) and an Origin, when sent, must be one
 *    of those hosts or a CORS_ALLOWED_ORIGINS entry. Anything else is 403
 *    before the route runs (DNS rebinding protection).
 * 2. A per-address token bucket on `/mcp`, `/sse`, `/messages` and
 *    `/webhooks/*`: 429 with Retry-After. A request whose own bearer token is
 *    valid is not held back by its address's bucket (agents behind one NAT
 *    are governed by their own rate windows instead).
 * 3. Security headers (CSP, nosniff, …) and CORS for allowlisted origins on
 *    every response, including the ones the MCP SDK writes itself (they are
 *    set on the Node response before the route runs).
 * 4. The access log: one line a request, the path without query and with
 *    unsubscribe tokens redacted, `/health` at debug, and a client that
 *    disconnects is a debug "client closed", not an error.
 */
import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { AppConfig } from "../config/AppConfig.ts"
import { bearerFromHeaders } from "../mcp/McpServerFactory.ts"
import { Authenticator } from "../security/Authenticator.ts"
import { makeClientAddress } from "./ClientAddress.ts"
import { recordSecurityEvent, recordWebhookRequest } from "../observability/Metrics.ts"

/** Sent on every response. The only HTML we serve (unsubscribe) needs inline styles and nothing else. */
export const securityHeaders: Readonly<Record<string, string>> = {
  "content-security-policy":
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-resource-policy": "same-origin"
}

/** Paths a foreign web page must not reach (Host and Origin checked). */
const guardedPath = /^\/(mcp|sse|messages|admin|metrics)(\/|$)/
/** Paths under the per-address token bucket. */
const bucketPath = /^\/(mcp|sse|messages|webhooks)(\/|$)/

/** The request path for logs: no query string, no unsubscribe token, no agent-addressed secrets. */
export const loggablePath = (url: string): string => {
  const path = url.split("?")[0] ?? ""
  return path.replace(/^\/unsubscribe\/[^/]*/, "/unsubscribe/[redacted]")
}

/** Lower-case hostname of a Host header or URL host (`[::1]:3100` → `::1`). */
export const hostnameOf = (host: string): string => {
  const h = host.trim().toLowerCase()
  if (h.startsWith("[")) return h.slice(1, h.indexOf("]") === -1 ? undefined : h.indexOf("]"))
  const colon = h.lastIndexOf(":")
  return colon === -1 || h.indexOf(":") !== colon ? h : h.slice(0, colon)
}

export interface EdgeOptions {
  readonly allowedHosts: ReadonlyArray<string>
  readonly corsOrigins: ReadonlyArray<string>
  readonly ratePerSecond: number
  readonly burst: number
}

interface Bucket {
  tokens: number
  updatedAt: number
}

const MAX_BUCKETS = 100_000

/** A token bucket per key; `take` answers 0 when allowed, otherwise the seconds to wait. */
export const makeTokenBuckets = (ratePerSecond: number, burst: number) => {
  const buckets = new Map<string, Bucket>()
  return {
    take: (key: string, now: number): number => {
      let b = buckets.get(key)
      if (b === undefined) {
        if (buckets.size >= MAX_BUCKETS) {
          for (const [k, v] of buckets) {
            if (v.tokens + ((now - v.updatedAt) / 1000) * ratePerSecond >= burst) buckets.delete(k)
          }
          if (buckets.size >= MAX_BUCKETS) buckets.clear()
        }
        b = { tokens: burst, updatedAt: now }
        buckets.set(key, b)
      }
      b.tokens = Math.min(burst, b.tokens + ((now - b.updatedAt) / 1000) * ratePerSecond)
      b.updatedAt = now
      if (b.tokens >= 1) {
        b.tokens -= 1
        return 0
      }
      return Math.max(1, Math.ceil((1 - b.tokens) / ratePerSecond))
    }
  }
}

const forbidden = (message: string) =>
  HttpServerResponse.unsafeJson({ error: { code: "forbidden", message } }, { status: 403 })

/** The global middleware, from config. */
export const EdgeGuardLive = Layer.unwrapEffect(Effect.gen(function*() {
  const config = yield* AppConfig
  const auth = yield* Authenticator
  const clientAddress = makeClientAddress(config.trustedProxies)
  const hosts = new Set<string>(["localhost", "127.0.0.1", "::1"])
  if (Option.isSome(config.webhookBaseUrl)) hosts.add(new URL(config.webhookBaseUrl.value).hostname.replace(/^\[|\]$/g, "").toLowerCase())
  for (const h of config.allowedHosts) hosts.add(hostnameOf(h))
  if (config.host !== "0.0.0.0" && config.host !== "::") hosts.add(hostnameOf(config.host))
  const corsOrigins = new Set(config.corsAllowedOrigins.map((o) => new URL(o).origin))
  const buckets = makeTokenBuckets(config.rateLimitPerAddressPerSecond, config.rateLimitPerAddressBurst)

  const originAllowed = (origin: string): boolean => {
    if (corsOrigins.has(origin)) return true
    if (!URL.canParse(origin)) return false
    return hosts.has(new URL(origin).hostname.replace(/^\[|\]$/g, "").toLowerCase())
  }

  const hostProblem = (request: HttpServerRequest.HttpServerRequest): string | undefined => {
    const host = request.headers["host"]
    if (host === undefined || !hosts.has(hostnameOf(host))) return "this host name is not served here"
    const origin = request.headers["origin"]
    if (origin !== undefined && !originAllowed(origin)) return "requests from this origin are not allowed"
    return undefined
  }

  /** 0 when the request may proceed, else seconds to wait. */
  const rateCheck = (request: HttpServerRequest.HttpServerRequest, path: string, ip: string) =>
    Effect.gen(function*() {
      if (!bucketPath.test(path)) return 0
      const now = yield* Clock.currentTimeMillis
      const wait = buckets.take(ip, now)
      if (wait === 0) return 0
      // a valid token of its own lets a request past its address's empty bucket
      const bearer = bearerFromHeaders(request.headers)
      if (Option.isSome(bearer) && (yield* auth.identify(bearer.value))) return 0
      return wait
    })

  const middleware = HttpLayerRouter.middleware((app) =>
    Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const started = yield* Clock.currentTimeMillis
      const path = loggablePath(request.url)
      const ip = clientAddress.fromRequest(request)
      const node = NodeHttpServerRequest.toServerResponse(request)
      for (const [k, v] of Object.entries(securityHeaders)) node.setHeader(k, v)
      const origin = request.headers["origin"]
      if (origin !== undefined && corsOrigins.has(origin)) {
        node.setHeader("access-control-allow-origin", origin)
        node.setHeader("access-control-expose-headers", "mcp-session-id, retry-after")
        node.setHeader("vary", "Origin")
      }

      const run = Effect.gen(function*() {
        if (guardedPath.test(path)) {
          const problem = hostProblem(request)
          if (problem !== undefined) {
            yield* recordSecurityEvent("host_rejected")
            return forbidden(problem)
          }
        }
        const wait = yield* rateCheck(request, path, ip)
        if (wait > 0) {
          yield* recordSecurityEvent("rate_limited_address")
          return HttpServerResponse.unsafeJson(
            { error: { code: "rate_limited", message: "too many requests from this address", retryAfterSeconds: wait } },
            { status: 429, headers: { "retry-after": String(wait) } }
          )
        }
        return yield* app
      })

      return yield* run.pipe(
        Effect.onExit((exit) =>
          Effect.gen(function*() {
            const durationMs = (yield* Clock.currentTimeMillis) - started
            const closedByClient = Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)
            const status = Exit.isSuccess(exit) ? exit.value.status : closedByClient ? 499 : 500
            if (path.startsWith("/webhooks/")) yield* recordWebhookRequest(path, status)
            const annotations = { method: request.method, path, status, durationMs }
            if (closedByClient) return yield* Effect.logDebug("http client closed").pipe(Effect.annotateLogs(annotations))
            if (path.startsWith("/health")) return yield* Effect.logDebug("http").pipe(Effect.annotateLogs(annotations))
            if (status >= 500) return yield* Effect.logWarning("http").pipe(Effect.annotateLogs(annotations))
            return yield* Effect.logInfo("http").pipe(Effect.annotateLogs(annotations))
          })
        )
      )
    }), { global: true })

  /** CORS preflight: allowlisted origins get the methods and headers MCP needs; others 403. */
  const preflight = HttpLayerRouter.add("OPTIONS", "/*", (request) =>
    Effect.sync(() => {
      const origin = request.headers["origin"]
      if (origin === undefined || !corsOrigins.has(origin)) return forbidden("CORS is not allowed for this origin")
      return HttpServerResponse.empty({
        status: 204,
        headers: {
          "access-control-allow-origin": origin,
          "access-control-allow-methods": "GET, POST, DELETE, OPTIONS",
          "access-control-allow-headers": "authorization, content-type, accept, mcp-session-id, mcp-protocol-version, last-event-id",
          "access-control-max-age": "600",
          vary: "Origin"
        }
      })
    }))

  return Layer.merge(middleware, preflight)
}))
