import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Option from "effect/Option"
import ipaddr from "ipaddr.js"

/**
 * The client address of a request, trusted-proxy aware: `X-Forwarded-For`
 * counts only when the connection comes from a configured proxy
 * (`TRUSTED_PROXIES`, addresses or CIDR ranges), and then only as far as the
 * chain is made of trusted proxies (read right to left, the first address
 * that is not a trusted proxy is the client). Anyone else's
 * `X-Forwarded-For` is ignored, so a client cannot choose its own address
 * (for the lockout, the rate limits, the anonymous-session allowance).
 */
export interface ClientAddress {
  readonly isTrustedProxy: (address: string) => boolean
  readonly of: (remoteAddress: string, forwardedFor: string | undefined) => string
  readonly fromRequest: (request: HttpServerRequest.HttpServerRequest) => string
}

const normalize = (address: string): string => {
  const bare = address.trim().replace(/^\[|\]$/g, "").split("%")[0] ?? ""
  return ipaddr.isValid(bare) ? ipaddr.process(bare).toString() : bare
}

type Range = readonly [ipaddr.IPv4 | ipaddr.IPv6, number]

/** Parses one `TRUSTED_PROXIES` entry (address or CIDR); undefined when invalid. */
export const parseProxyRange = (entry: string): Range | undefined => {
  const raw = entry.trim()
  try {
    if (!raw.includes("/")) {
      const addr = ipaddr.process(raw)
      return [addr, addr.kind() === "ipv4" ? 32 : 128]
    }
    const [addr, bits] = ipaddr.parseCIDR(raw)
    if (addr instanceof ipaddr.IPv6 && addr.isIPv4MappedAddress()) return [addr.toIPv4Address(), bits - 96]
    return [addr, bits]
  } catch {
    return undefined
  }
}

const inRange = (address: ipaddr.IPv4 | ipaddr.IPv6, [net, bits]: Range): boolean =>
  address instanceof ipaddr.IPv4 && net instanceof ipaddr.IPv4
    ? address.match(net, bits)
    : address instanceof ipaddr.IPv6 && net instanceof ipaddr.IPv6
    ? address.match(net, bits)
    : false

export const makeClientAddress = (trustedProxies: ReadonlyArray<string>): ClientAddress => {
  const ranges = trustedProxies.map(parseProxyRange).filter((r) => r !== undefined)
  const isTrustedProxy = (address: string): boolean => {
    if (ranges.length === 0) return false
    const bare = normalize(address)
    if (!ipaddr.isValid(bare)) return false
    const parsed = ipaddr.process(bare)
    return ranges.some((range) => inRange(parsed, range))
  }
  const of = (remoteAddress: string, forwardedFor: string | undefined): string => {
    const remote = normalize(remoteAddress)
    if (forwardedFor === undefined || !isTrustedProxy(remote)) return remote
    const hops = forwardedFor.split(",").map(normalize).filter((h) => h.length > 0)
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i]!
      if (!ipaddr.isValid(hop)) return remote
      if (!isTrustedProxy(hop)) return hop
    }
    return hops[0] ?? remote
  }
  return {
    isTrustedProxy,
    of,
    fromRequest: (request) => {
      const forwarded = request.headers["x-forwarded-for"]
      return of(Option.getOrElse(request.remoteAddress, () => "unknown"), forwarded)
    }
  }
}
