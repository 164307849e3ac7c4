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
 * number, and all closed when the layer's scope closes. A session opened
 * without a valid bearer is anonymous until one of its tool calls
 * authenticates: anonymous sessions (and SSE streams) get a small
 * per-address allowance, a short idle life and their own cap, so they can
 * never take the places of authenticated clients.
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
import { ToolRegistry } from "./ToolRegistry.ts"

export interface McpHttpOptions {
  /** `serverInfo` announced in `initialize`. */
  readonly server: McpServerFactory.McpServerInfo
  /**
   * Live authenticated sessions (Streamable HTTP + SSE) at most; further
   * authenticated `initialize` / `GET /sse` get 503. Anonymous sessions never
   * count here, so this room is always left for clients with a token. Default 1000.
   */
  readonly maxSessions?: number | undefined
  /** An authenticated session with no request for this long (and none in flight) is closed. Default 30 minutes. */
  readonly sessionIdleTimeout?: Duration.DurationInput | undefined
  /**
   * Anonymous sessions (opened without a valid bearer, not yet proven by an
   * authenticated tool call) at most, all addresses together; beyond, 503.
   * Default max(64, maxSessions / 10).
   */
  readonly maxAnonymousSessions?: number | undefined
  /** Anonymous sessions one address may hold; opening one more closes its oldest (idle first). Default 64. */
  readonly anonymousSessionsPerAddress?: number | undefined
  /** An anonymous session idle this long is closed. Default 60 seconds. */
  readonly anonymousIdleTimeout?: Duration.DurationInput | undefined
  /** Largest accepted POST body; larger ones get 413. Default 1 MiB. */
  readonly maxBodyBytes?: number | undefined
  /** The client address of a request (trusted-proxy aware); default: the socket's remote address. */
  readonly clientAddress?: ((request: HttpServerRequest.HttpServerRequest) => string) | undefined
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
  /** Address that opened the session (per-address allowance of anonymous sessions). */
  readonly clientIp: string
  /** Mutable bookkeeping, only touched from the JS thread. */
  lastActivity: number
  inFlight: number
  /** Opened with a valid bearer, or one of its tool calls authenticated. */
  authenticated: boolean
}

const jsonRpcError = (status: number, code: number, message: string): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.unsafeJson({ jsonrpc: "2.0", error: { code, message }, id: null }, { status })

const sessionNotFound = jsonRpcError(404, -32001, "Session not found")
const tooManySessions = jsonRpcError(503, -32000, "Service Unavailable: too many MCP sessions")
const tooManyAnonymous = jsonRpcError(
  503,
  -32000,
  "Service Unavailable: too many unauthenticated MCP sessions; connect with 'Authorization: Bearer <token>'"
)

const remoteAddressOf = (request: HttpServerRequest.HttpServerRequest): string =>
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
 * parameters; limits default to 1000 authenticated sessions, 30 min idle,
 * 1 MiB bodies, and a small allowance of anonymous sessions (4 per address,
 * 60 s idle).
 */
export const layer = (
  options: McpHttpOptions
): Layer.Layer<never, never, HttpLayerRouter.HttpRouter | ToolRegistry> =>
  Layer.scopedDiscard(Effect.gen(function*() {
    const router = yield* HttpLayerRouter.HttpRouter
    const registry = yield* ToolRegistry
    const makeServer = yield* McpServerFactory.make(options.server)
    const maxSessions = options.maxSessions ?? 1000
    const maxAnonymous = options.maxAnonymousSessions ?? Math.max(64, Math.floor(maxSessions / 10))
    const anonymousPerAddress = options.anonymousSessionsPerAddress ?? 64
    const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024
    const clientIpOf = options.clientAddress ?? remoteAddressOf
    const idleTimeout = Duration.decode(options.sessionIdleTimeout ?? Duration.minutes(30))
    const anonymousIdle = Duration.decode(options.anonymousIdleTimeout ?? Duration.seconds(60))
    const idleMillis = Duration.toMillis(idleTimeout)
    const anonymousIdleMillis = Duration.toMillis(anonymousIdle)
    const sweepEvery = Duration.max(
      Duration.min(Duration.unsafeDivide(Duration.min(idleTimeout, anonymousIdle), 2), Duration.minutes(1)),
      Duration.millis(10)
    )

    // Owned by this layer's scope; every entry is closed by the finalizer below.
    const streamable = new Map<string, Session<StreamableHTTPServerTransport>>()
    const sse = new Map<string, Session<SSEServerTransport>>()
    type AnySession = Session<StreamableHTTPServerTransport> | Session<SSEServerTransport>
    const allSessions = (): Array<AnySession> => [...streamable.values(), ...sse.values()]
    const countSessions = (only: (s: AnySession) => boolean) => {
      let n = 0
      for (const s of streamable.values()) if (only(s)) n++
      for (const s of sse.values()) if (only(s)) n++
      return n
    }

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

    const closeWhere = (only: (session: AnySession) => boolean) =>
      Effect.zipRight(closeAll(streamable, only), closeAll(sse, only), { concurrent: true })

    /** Idle sessions: authenticated ones after `sessionIdleTimeout`, anonymous ones (and their SSE streams) much sooner. */
    const sweepIdle = Effect.flatMap(Clock.currentTimeMillis, (now) =>
      closeWhere((s) =>
        s.inFlight === 0 && now - s.lastActivity >= (s.authenticated ? idleMillis : anonymousIdleMillis)
      ))

    /**
     * Admission of a new session. With a valid bearer it takes one of
     * `maxSessions` places; without, one of the few anonymous places: an
     * address over its allowance loses its own oldest anonymous session (so
     * a flood from one address only churns that address's sessions), and
     * when all anonymous places are taken the answer is 503. Authenticated
     * places are never given to anonymous sessions.
     */
    const admit = (clientIp: string, authenticated: boolean): Effect.Effect<void, HttpServerResponse.HttpServerResponse> =>
      Effect.gen(function*() {
        if (authenticated) {
          if (countSessions((s) => s.authenticated) < maxSessions) return
          yield* sweepIdle
          if (countSessions((s) => s.authenticated) < maxSessions) return
          return yield* Effect.fail(tooManySessions)
        }
        // idle ones go first (oldest first), then those with a request or stream open
        const own = allSessions()
          .filter((s) => !s.authenticated && s.clientIp === clientIp)
          .sort((a, b) => (a.inFlight === 0) === (b.inFlight === 0)
            ? a.lastActivity - b.lastActivity
            : a.inFlight === 0 ? -1 : 1)
        const excess = own.length - anonymousPerAddress + 1
        if (excess > 0) {
          const evict = new Set<AnySession>(own.slice(0, excess))
          yield* closeWhere((s) => evict.has(s))
        }
        if (countSessions((s) => !s.authenticated) < maxAnonymous) return
        yield* sweepIdle
        if (countSessions((s) => !s.authenticated) < maxAnonymous) return
        return yield* Effect.fail(tooManyAnonymous)
      })

    /** Whether the request's own `Authorization: Bearer` is a valid token. */
    const bearerIsValid = (request: HttpServerRequest.HttpServerRequest) =>
      Option.match(McpServerFactory.bearerFromHeaders(request.headers), {
        onNone: () => Effect.succeed(false),
        onSome: registry.verifyBearer
      })

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

    /** An SDK server whose authenticated tool calls promote `holder.session`. */
    const serverFor = (clientIp: string, holder: { session?: AnySession }) =>
      makeServer({
        clientIp,
        onAuthenticated: () => {
          if (holder.session !== undefined) holder.session.authenticated = true
        }
      })

    yield* Effect.addFinalizer(() => closeWhere(() => true))
    yield* sweepIdle.pipe(Effect.repeat(Schedule.spaced(sweepEvery)), Effect.forkScoped)

    // ---- Streamable HTTP ----------------------------------------------------

    const newStreamableSession = (clientIp: string, authenticated: boolean) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const holder: { session?: AnySession } = {}
        const server = serverFor(clientIp, holder)
        const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          // Called while the SDK handles `initialize`, before it answers.
          onsessioninitialized: (id) => {
            streamable.set(id, session)
          }
        })
        const session: Session<StreamableHTTPServerTransport> = {
          server,
          transport,
          clientIp,
          lastActivity: now,
          inFlight: 0,
          authenticated
        }
        holder.session = session
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
        const clientIp = clientIpOf(request)
        const authenticated = yield* bearerIsValid(request)
        yield* admit(clientIp, authenticated)
        const session = yield* newStreamableSession(clientIp, authenticated)
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
        const clientIp = clientIpOf(request)
        const authenticated = yield* bearerIsValid(request)
        yield* admit(clientIp, authenticated)
        const now = yield* Clock.currentTimeMillis
        const holder: { session?: AnySession } = {}
        const server = serverFor(clientIp, holder)
        const transport = new SSEServerTransport(paths.messages, NodeHttpServerRequest.toServerResponse(request))
        const id = transport.sessionId
        const session: Session<SSEServerTransport> = {
          server,
          transport,
          clientIp,
          lastActivity: now,
          inFlight: 0,
          authenticated
        }
        holder.session = session
        server.onclose = () => {
          if (sse.get(id) === session) sse.delete(id)
        }
        sse.set(id, session)
        // `connect` starts the transport, which writes the SSE headers and the
        // `endpoint` event; the stream then stays open until either side
        // closes. The open stream itself is not activity: a stream with no
        // POST /messages for the idle time is closed by the sweep.
        return yield* bridge(request, () => server.connect(transport)).pipe(
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
