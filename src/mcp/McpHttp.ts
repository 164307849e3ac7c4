/**
 * MCP over HTTP, on the shared `HttpLayerRouter`:
 *
 * - `POST/GET/DELETE /mcp`: Streamable HTTP, stateful (one SDK `Server` and
 *   one `StreamableHTTPServerTransport` per `mcp-session-id`).
 * - `GET /sse` + `POST /messages?sessionId=…`: the deprecated HTTP+SSE pair.
 *
 * The SDK's Node transports are handed the Node request/response behind the
 * Effect request; the route waits until the Node response has finished (or
 * closed). Effect then skips writing its own response.
 *
 * Sessions live in a store owned by the layer's scope: removed when their
 * transport closes (DELETE, SSE disconnect), expired when idle, capped in
 * number, and all closed when the layer's scope closes.
 */
import { randomUUID } from "node:crypto"
import type { IncomingMessage, ServerResponse } from "node:http"
import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import type { Server } from "@modelcontextprotocol/sdk/server/index.js"
import { SSEServerTransport } from "@modelcontextprotocol/sdk/server/sse.js"
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js"
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import { readCappedBody } from "../http/readCappedBody.ts"
import * as McpServerFactory from "./McpServerFactory.ts"
import type { ToolRegistry } from "./ToolRegistry.ts"

export interface McpHttpOptions {
  /** `serverInfo` announced in `initialize`. */
  readonly server: McpServerFactory.McpServerInfo
  /** Live sessions (Streamable HTTP + SSE) at most; further `initialize` / `GET /sse` get 503. Default 1000. */
  readonly maxSessions?: number | undefined
  /** A session with no request for this long (and none in flight) is closed. Default 30 minutes. */
  readonly sessionIdleTimeout?: Duration.DurationInput | undefined
  /** Largest accepted POST body; larger ones get 413. Default 1 MiB. */
  readonly maxBodyBytes?: number | undefined
}

/** Paths served by {@link layer}. */
export const paths = {
  streamable: "/mcp",
  sse: "/sse",
  messages: "/messages"
} as const

interface Session<T> {
  readonly server: Server
  readonly transport: T
  /** Mutable bookkeeping, only touched from the JS thread. */
  lastActivity: number
  inFlight: number
}

const jsonRpcError = (status: number, code: number, message: string): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.unsafeJson({ jsonrpc: "2.0", error: { code, message }, id: null }, { status })

const sessionNotFound = jsonRpcError(404, -32001, "Session not found")
const tooManySessions = jsonRpcError(503, -32000, "Service Unavailable: too many MCP sessions")

const clientIpOf = (request: HttpServerRequest.HttpServerRequest): string =>
  Option.getOrElse(request.remoteAddress, () => "unknown")

/**
 * Hands the Node request/response to an SDK transport and waits until the
 * Node response has finished or closed. The returned response only informs
 * Effect's logging: the Node response has already been written.
 */
const bridge = (
  request: HttpServerRequest.HttpServerRequest,
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>
): Effect.Effect<HttpServerResponse.HttpServerResponse> =>
  Effect.suspend(() => {
    const req = NodeHttpServerRequest.toIncomingMessage(request)
    const res = NodeHttpServerRequest.toServerResponse(request)
    let failure: Option.Option<unknown> = Option.none()
    const waitForResponse = Effect.async<void>((resume) => {
      const done = () => {
        res.off("finish", done)
        res.off("close", done)
        resume(Effect.void)
      }
      res.on("finish", done)
      res.on("close", done)
      handle(req, res).catch((error: unknown) => {
        failure = Option.some(error)
        if (!res.headersSent) {
          res.writeHead(500, { "content-type": "application/json" })
          res.end(JSON.stringify({ jsonrpc: "2.0", error: { code: -32603, message: "Internal error" }, id: null }))
        } else if (!res.writableEnded) {
          res.end()
        }
      })
      return Effect.sync(() => {
        res.off("finish", done)
        res.off("close", done)
      })
    })
    return waitForResponse.pipe(
      Effect.zipRight(Effect.suspend(() =>
        Option.match(failure, {
          onNone: () => Effect.void,
          onSome: (error) => Effect.logError("MCP transport failed on a request", error)
        })
      )),
      Effect.zipRight(Effect.sync(() => HttpServerResponse.empty({ status: res.statusCode })))
    )
  })

/**
 * Reads and parses a JSON body once, at most `maxBytes` long. Fails with the
 * error response to send (413 too large, 400 unreadable/invalid JSON).
 *
 * Reads the Node request directly: on an oversized body it stops buffering
 * but lets Node discard the rest, so the client still gets the 413 (the
 * platform's reader destroys the socket instead, and clients see a reset).
 */
const readJsonBody = (
  request: HttpServerRequest.HttpServerRequest,
  maxBytes: number
): Effect.Effect<unknown, HttpServerResponse.HttpServerResponse> => {
  const read = readCappedBody(request, maxBytes).pipe(
    Effect.mapError((e) =>
      e === "too_large"
        ? jsonRpcError(413, -32000, `Payload Too Large: request body exceeds ${maxBytes} bytes`)
        : jsonRpcError(400, -32700, "Parse error: could not read request body")
    )
  )
  return Effect.flatMap(read, (bytes) =>
    Effect.try({
      try: (): unknown => JSON.parse(bytes.toString("utf8")),
      catch: () => jsonRpcError(400, -32700, "Parse error: Invalid JSON")
    }))
}

/**
 * Adds the MCP HTTP routes to the router. Name/version of the server are
 * parameters; limits default to 1000 sessions, 30 min idle, 1 MiB bodies.
 */
export const layer = (
  options: McpHttpOptions
): Layer.Layer<never, never, HttpLayerRouter.HttpRouter | ToolRegistry> =>
  Layer.scopedDiscard(Effect.gen(function*() {
    const router = yield* HttpLayerRouter.HttpRouter
    const makeServer = yield* McpServerFactory.make(options.server)
    const maxSessions = options.maxSessions ?? 1000
    const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024
    const idleTimeout = Duration.decode(options.sessionIdleTimeout ?? Duration.minutes(30))
    const idleMillis = Duration.toMillis(idleTimeout)
    const sweepEvery = Duration.max(
      Duration.min(Duration.unsafeDivide(idleTimeout, 2), Duration.minutes(1)),
      Duration.millis(10)
    )

    // Owned by this layer's scope; every entry is closed by the finalizer below.
    const streamable = new Map<string, Session<StreamableHTTPServerTransport>>()
    const sse = new Map<string, Session<SSEServerTransport>>()
    const liveSessions = () => streamable.size + sse.size

    /** Closes the SDK server (and so its transport); its `onclose` removes it from its map. */
    const closeSession = <T>(store: Map<string, Session<T>>, id: string, session: Session<T>) =>
      Effect.suspend(() => {
        if (store.get(id) === session) store.delete(id)
        return Effect.tryPromise(() => session.server.close())
      }).pipe(
        Effect.catchAll((error) => Effect.logWarning("Closing an MCP session failed", error))
      )

    const closeAll = <T>(store: Map<string, Session<T>>, only: (session: Session<T>) => boolean) =>
      Effect.forEach(
        Array.from(store).filter(([, s]) => only(s)),
        ([id, s]) => closeSession(store, id, s),
        { concurrency: "unbounded", discard: true }
      )

    const sweepIdle = Effect.flatMap(Clock.currentTimeMillis, (now) =>
      closeAll(streamable, (s) => s.inFlight === 0 && now - s.lastActivity >= idleMillis)
    )

    const ensureCapacity: Effect.Effect<void, HttpServerResponse.HttpServerResponse> = Effect.suspend(() =>
      liveSessions() < maxSessions ? Effect.void : Effect.zipRight(
        sweepIdle,
        Effect.suspend(() => liveSessions() < maxSessions ? Effect.void : Effect.fail(tooManySessions))
      )
    )

    /** Counts a request as activity, and keeps the session from expiring while it runs. */
    const track = <T, A, E, R>(session: Session<T>, effect: Effect.Effect<A, E, R>) =>
      Effect.acquireUseRelease(
        Effect.map(Clock.currentTimeMillis, (now) => {
          session.inFlight++
          session.lastActivity = now
        }),
        () => effect,
        () =>
          Effect.map(Clock.currentTimeMillis, (now) => {
            session.inFlight--
            session.lastActivity = now
          })
      )

    yield* Effect.addFinalizer(() =>
      Effect.zipRight(closeAll(streamable, () => true), closeAll(sse, () => true), { concurrent: true })
    )
    yield* sweepIdle.pipe(Effect.repeat(Schedule.spaced(sweepEvery)), Effect.forkScoped)

    // ---- Streamable HTTP ----------------------------------------------------

    const newStreamableSession = (clientIp: string) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const server = makeServer({ clientIp })
        const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          // Called while the SDK handles `initialize`, before it answers.
          onsessioninitialized: (id) => {
            streamable.set(id, session)
          }
        })
        const session: Session<StreamableHTTPServerTransport> = { server, transport, lastActivity: now, inFlight: 0 }
        server.onclose = () => {
          const id = transport.sessionId
          if (id !== undefined && streamable.get(id) === session) streamable.delete(id)
        }
        yield* Effect.promise(() => server.connect(transport))
        return session
      })

    const handleStreamable = (
      request: HttpServerRequest.HttpServerRequest,
      session: Session<StreamableHTTPServerTransport>,
      body: Option.Option<unknown>
    ) =>
      track(
        session,
        bridge(request, (req, res) => {
          McpServerFactory.stampClientIp(req, clientIpOf(request))
          return Option.isSome(body)
            ? session.transport.handleRequest(req, res, body.value)
            : session.transport.handleRequest(req, res)
        })
      )

    /** Requests for an existing Streamable HTTP session (any method). */
    const existingSession = (request: HttpServerRequest.HttpServerRequest, body: Option.Option<unknown>) => {
      const id = request.headers["mcp-session-id"]
      if (id === undefined) {
        return Effect.succeed(jsonRpcError(400, -32000, "Bad Request: Mcp-Session-Id header is required"))
      }
      const session = streamable.get(id)
      return session === undefined ? Effect.succeed(sessionNotFound) : handleStreamable(request, session, body)
    }

    const postMcp = (request: HttpServerRequest.HttpServerRequest) =>
      Effect.gen(function*() {
        const id = request.headers["mcp-session-id"]
        if (id !== undefined) {
          // unknown sessions get their 404 without the body being read
          if (!streamable.has(id)) return sessionNotFound
          const body = yield* readJsonBody(request, maxBodyBytes)
          return yield* existingSession(request, Option.some(body))
        }
        const body = yield* readJsonBody(request, maxBodyBytes)
        if (!isInitializeRequest(body)) {
          return jsonRpcError(400, -32000, "Bad Request: No valid session ID provided")
        }
        yield* ensureCapacity
        const session = yield* newStreamableSession(clientIpOf(request))
        return yield* handleStreamable(request, session, Option.some(body)).pipe(
          // If the SDK rejected the initialize (e.g. bad Accept header), nothing
          // was registered: close the orphan server.
          Effect.ensuring(Effect.suspend(() => {
            const id = session.transport.sessionId
            return id !== undefined && streamable.get(id) === session
              ? Effect.void
              : closeSession(streamable, id ?? "", session)
          }))
        )
      }).pipe(Effect.merge)

    yield* router.add("POST", paths.streamable, postMcp)
    yield* router.add("GET", paths.streamable, (request) => existingSession(request, Option.none()))
    yield* router.add("DELETE", paths.streamable, (request) => existingSession(request, Option.none()))

    // ---- Deprecated HTTP+SSE ------------------------------------------------

    const getSse = (request: HttpServerRequest.HttpServerRequest) =>
      Effect.gen(function*() {
        yield* ensureCapacity
        const now = yield* Clock.currentTimeMillis
        const server = makeServer({ clientIp: clientIpOf(request) })
        const transport = new SSEServerTransport(paths.messages, NodeHttpServerRequest.toServerResponse(request))
        const id = transport.sessionId
        const session: Session<SSEServerTransport> = { server, transport, lastActivity: now, inFlight: 0 }
        server.onclose = () => {
          if (sse.get(id) === session) sse.delete(id)
        }
        sse.set(id, session)
        // `connect` starts the transport, which writes the SSE headers and the
        // `endpoint` event; the stream then stays open until either side closes.
        // SSE sessions end with their GET, so they never idle-expire.
        return yield* track(session, bridge(request, () => server.connect(transport))).pipe(
          Effect.ensuring(closeSession(sse, id, session))
        )
      }).pipe(Effect.merge)

    const postMessages = (request: HttpServerRequest.HttpServerRequest) =>
      Effect.gen(function*() {
        const params = yield* HttpServerRequest.ParsedSearchParams
        const raw = params["sessionId"]
        const id = Array.isArray(raw) ? raw[0] : raw
        const session = id === undefined ? undefined : sse.get(id)
        if (session === undefined) return sessionNotFound
        const body = yield* readJsonBody(request, maxBodyBytes)
        return yield* track(
          session,
          bridge(request, (req, res) => {
            McpServerFactory.stampClientIp(req, clientIpOf(request))
            return session.transport.handlePostMessage(req, res, body)
          })
        )
      }).pipe(Effect.merge)

    yield* router.add("GET", paths.sse, getSse)
    yield* router.add("POST", paths.messages, postMessages)
  }))

