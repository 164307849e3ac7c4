/**
 * The one outbound URL policy: every URL the server fetches or posts to on
 * someone's behalf (email attachments, `mirrorTo`, callbacks, provider media)
 * goes through it, when the URL is configured (`check`) and when it is
 * fetched (`client`).
 *
 * - http and https only;
 * - the host is resolved and EVERY address must be public unicast, by the
 *   range classification of `ipaddr.js` (loopback, private, link-local,
 *   carrier-grade NAT, unspecified, documentation/"reserved", benchmarking,
 *   multicast, IPv4-mapped/translated forms … are all refused), and none may
 *   be an address of this host;
 * - the connection goes to the address that was checked: the Node agents'
 *   `lookup` is this policy's own resolver, so a name that re-resolves to
 *   loopback between check and connect (DNS rebinding) is refused there;
 * - each redirect hop is a new request through the same checks (at most 5).
 *
 * `OUTBOUND_ALLOWED_ORIGINS` exempts exact origins, and so is the origin of
 * the operator-configured AGENTOS_CALLBACK_URL; `MEDIA_FETCH_ALLOW_PRIVATE=true` turns the address
 * check off (development only).
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import ipaddr from "ipaddr.js"
import * as dns from "node:dns"
import type { LookupAddress, LookupOptions } from "node:dns"
import * as os from "node:os"
import { AppConfig } from "../config/AppConfig.ts"

/** Why a URL was refused. */
export const RefusalReason = Schema.Literal("invalid_url", "scheme", "non_public_address", "unresolvable")
export type RefusalReason = typeof RefusalReason.Type

/** A URL the outbound policy refuses to fetch; the message names the reason, never the address. */
export class UrlRefused extends Schema.TaggedError<UrlRefused>()("UrlRefused", {
  reason: RefusalReason,
  message: Schema.String
}) {
  readonly code = "url_refused"
}

/** Resolves a host name to all its addresses (injectable for tests). */
export type Resolver = (hostname: string) => Promise<ReadonlyArray<string>>

const systemResolver: Resolver = (hostname) =>
  dns.promises.lookup(hostname, { all: true, verbatim: true }).then((all) => all.map((a) => a.address))

/** Addresses of this host's interfaces (the host's own public address is not a fetch target either). */
let ownCache: ReadonlySet<string> | undefined
const ownAddresses = (): ReadonlySet<string> => {
  if (ownCache !== undefined) return ownCache
  const out = new Set<string>()
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) out.add(ipaddr.process(a.address.split("%")[0] ?? a.address).toString())
  }
  ownCache = out
  return out
}

/**
 * The range an address belongs to, by `ipaddr.js`; "unicast" is the only
 * public one. IPv4-mapped IPv6 (`::ffff:127.0.0.1`) is classified as the IPv4
 * address it carries.
 */
export const rangeOf = (address: string): string => {
  const bare = address.replace(/^\[|\]$/g, "").split("%")[0] ?? address
  if (!ipaddr.isValid(bare)) return "invalid"
  return ipaddr.process(bare).range()
}

export interface PolicyOptions {
  /** Skip the address check (development against local services). */
  readonly allowPrivate: boolean
  /** Exact origins (`scheme://host:port`) exempt from the address check. */
  readonly allowedOrigins: ReadonlyArray<string>
  readonly resolver?: Resolver | undefined
  /** Addresses counted as this host's own; default: the interfaces' addresses. */
  readonly ownAddresses?: ReadonlySet<string> | undefined
  /** Redirect hops followed, each checked again. Default 5. */
  readonly maxRedirects?: number | undefined
}

const refused = (reason: RefusalReason, message: string) => new UrlRefused({ reason, message })

/** The policy as plain functions, built from options (the service below builds it from config). */
export const makePolicy = (options: PolicyOptions) => {
  const resolve = options.resolver ?? systemResolver
  const own = options.ownAddresses ?? ownAddresses()
  const exempt = new Set(options.allowedOrigins.map((o) => new URL(o).origin))

  const isPublic = (address: string): boolean => {
    if (rangeOf(address) !== "unicast") return false
    return !own.has(ipaddr.process(address.split("%")[0] ?? address).toString())
  }

  /** Every address of `hostname`, all public, or the refusal. */
  const publicAddresses = (hostname: string): Effect.Effect<ReadonlyArray<string>, UrlRefused> =>
    Effect.gen(function*() {
      const host = hostname.replace(/^\[|\]$/g, "")
      const addresses = ipaddr.isValid(host)
        ? [host]
        : yield* Effect.tryPromise({
          try: () => resolve(host),
          catch: () => refused("unresolvable", "the URL's host does not resolve")
        })
      if (addresses.length === 0) return yield* refused("unresolvable", "the URL's host does not resolve")
      if (!addresses.every(isPublic)) {
        return yield* refused("non_public_address", "the URL points to a private, local or reserved address")
      }
      return addresses
    })

  /** Parses and checks a URL: scheme, then (unless exempt) every address it resolves to. */
  const check = (raw: string): Effect.Effect<URL, UrlRefused> =>
    Effect.gen(function*() {
      let url: URL
      try {
        url = new URL(raw)
      } catch {
        return yield* refused("invalid_url", "not an absolute URL")
      }
      if (url.protocol !== "http:" && url.protocol !== "https:") {
        return yield* refused("scheme", "only http and https URLs are allowed")
      }
      if (url.username !== "" || url.password !== "") {
        return yield* refused("invalid_url", "URLs with credentials are not allowed")
      }
      if (options.allowPrivate || exempt.has(url.origin)) return url
      yield* publicAddresses(url.hostname)
      return url
    })

  /**
   * `lookup` for the Node agents: resolves once, refuses unless every address
   * is public, and hands Node exactly the checked address to connect to.
   */
  const lookup = (
    hostname: string,
    lookupOptions: LookupOptions,
    callback: (err: NodeJS.ErrnoException | null, address: string | Array<LookupAddress>, family?: number) => void
  ): void => {
    const exemptHost = options.allowPrivate ||
      [...exempt].some((o) => new URL(o).hostname.replace(/^\[|\]$/g, "") === hostname)
    resolve(hostname).then(
      (addresses) => {
        const first = addresses[0]
        if (first === undefined || (!exemptHost && !addresses.every(isPublic))) {
          const error: NodeJS.ErrnoException = new Error("refused by the outbound URL policy")
          error.code = "EREFUSED"
          return callback(error, "")
        }
        const family = ipaddr.parse(first).kind() === "ipv6" ? 6 : 4
        if (lookupOptions.all === true) return callback(null, [{ address: first, family }])
        return callback(null, first, family)
      },
      (cause: unknown) => {
        const error: NodeJS.ErrnoException = cause instanceof Error ? cause : new Error("lookup failed")
        callback(error, "")
      }
    )
  }

  /**
   * An HttpClient whose every request (and every redirect hop, since each
   * hop is a new request through it) is checked, and whose connections use
   * {@link lookup}. Refusals are `RequestError`s with reason "InvalidUrl" and
   * the {@link UrlRefused} as cause.
   */
  const client = Effect.gen(function*() {
    const agent = yield* NodeHttpClient.makeAgent({ lookup, keepAlive: false })
    const base = yield* NodeHttpClient.make.pipe(Effect.provideService(NodeHttpClient.HttpAgent, agent))
    const guarded = HttpClient.make((request, url) =>
      check(url.toString()).pipe(
        Effect.mapError((cause) =>
          new HttpClientError.RequestError({ request, reason: "InvalidUrl", cause, description: cause.message })
        ),
        Effect.zipRight(base.execute(request))
      )
    )
    return guarded.pipe(HttpClient.followRedirects(options.maxRedirects ?? 5))
  })

  return { check, lookup, client, isPublic } as const
}

/**
 * The outbound URL policy of the server, from config: `check(url)` when a URL
 * is configured, `client` (an `HttpClient`) for every fetch.
 */
export class OutboundUrlPolicy extends Effect.Service<OutboundUrlPolicy>()("app/http/OutboundUrlPolicy", {
  scoped: Effect.gen(function*() {
    const config = yield* AppConfig
    // the operator's own AGENTOS_CALLBACK_URL (often on this host or its network) is trusted as configured
    const callbackOrigin = Option.match(config.callbackUrl, {
      onNone: () => [],
      onSome: (u) => [new URL(u.replace("{agentId}", "agent")).origin]
    })
    const policy = makePolicy({
      allowPrivate: config.mediaFetchAllowPrivate,
      allowedOrigins: [...config.outboundAllowedOrigins, ...callbackOrigin]
    })
    const client = yield* policy.client
    return {
      /** Checks a URL as configured or given (scheme, every resolved address); the parsed URL when allowed. */
      check: Effect.fn("OutboundUrlPolicy.check")(function*(url: string) {
        return yield* policy.check(url)
      }),
      /** The guarded client every server-side fetch uses. */
      client
    } as const
  })
}) {}

/**
 * Succeeds when `url` may be fetched: http(s), and (unless `allowPrivate`)
 * every address its host resolves to is public. Fails with a reason
 * otherwise. Kept for call sites that check before fetching with another
 * client; prefer {@link OutboundUrlPolicy}'s `client`, which also pins the
 * address and checks redirects.
 */
export const checkFetchable = (url: string, allowPrivate: boolean): Effect.Effect<void, string> =>
  makePolicy({ allowPrivate, allowedOrigins: [] }).check(url).pipe(
    Effect.asVoid,
    Effect.mapError((e) =>
      e.reason === "scheme"
        ? "only http(s) URLs"
        : e.reason === "invalid_url"
        ? "not a URL"
        : e.reason === "unresolvable"
        ? "host does not resolve"
        : "the URL points to a private or local address"
    )
  )
