import * as Effect from "effect/Effect"
import { lookup } from "node:dns/promises"
import { BlockList, isIP } from "node:net"

/**
 * Addresses our server must not fetch on an agent's behalf (SSRF): loopback,
 * private, link-local (cloud metadata), carrier-grade NAT and unspecified.
 */
const blocked = new BlockList()
for (const [net, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.168.0.0", 16]
] as const) blocked.addSubnet(net, prefix, "ipv4")
for (const [net, prefix] of [["::", 128], ["::1", 128], ["fc00::", 7], ["fe80::", 10]] as const) {
  blocked.addSubnet(net, prefix, "ipv6")
}

const isBlocked = (ip: string): boolean => {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1]
  if (mapped !== undefined) return blocked.check(mapped, "ipv4")
  return blocked.check(ip, isIP(ip) === 6 ? "ipv6" : "ipv4")
}

/**
 * Succeeds when `url` may be fetched: http(s), and (unless `allowPrivate`)
 * every address its host resolves to is public. Fails with a reason otherwise.
 */
export const checkFetchable = (url: string, allowPrivate: boolean): Effect.Effect<void, string> =>
  Effect.gen(function*() {
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      return yield* Effect.fail("not a URL")
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return yield* Effect.fail("only http(s) URLs")
    if (allowPrivate) return
    const host = parsed.hostname.replace(/^\[|\]$/g, "")
    const addresses = isIP(host) !== 0
      ? [host]
      : yield* Effect.tryPromise(() => lookup(host, { all: true })).pipe(
        Effect.map((all) => all.map((a) => a.address)),
        Effect.mapError(() => "host does not resolve")
      )
    if (addresses.length === 0 || addresses.some(isBlocked)) {
      return yield* Effect.fail("the URL points to a private or local address")
    }
  })
