/**
 * The outbound URL policy against every SSRF form of the issue, with a
 * canary listener on loopback that must see zero requests.
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import { makePolicy, rangeOf, type Resolver, UrlRefused } from "../../src/http/OutboundUrlPolicy.ts"

let canaryHits = 0
let canary: Server
let redirector: Server
let canaryPort = 0
let redirectorPort = 0

const listen = (server: Server) =>
  new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)))

beforeAll(async () => {
  canary = createServer((_req, res) => {
    canaryHits++
    res.end("canary")
  })
  redirector = createServer((req, res) => {
    if (req.url === "/ok") return res.end("fine")
    const target = new URL(req.url ?? "/", "http://x").searchParams.get("to") ?? ""
    res.writeHead(302, { location: target }).end()
  })
  canaryPort = await listen(canary)
  redirectorPort = await listen(redirector)
})

afterAll(async () => {
  // the whole point: nothing below ever reached the canary
  expect(canaryHits).toBe(0)
  await Promise.all([canary, redirector].map((s) => new Promise((r) => s.close(r))))
})

/** Names the tests resolve; anything else is "not found" (tests never use real DNS). */
const fakeDns = (table: Record<string, ReadonlyArray<string> | (() => ReadonlyArray<string>)>): Resolver => (host) => {
  const entry = table[host]
  if (entry === undefined) return Promise.reject(new Error("ENOTFOUND"))
  return Promise.resolve(typeof entry === "function" ? entry() : entry)
}

const policyWith = (resolver: Resolver, extra: { ownAddresses?: ReadonlySet<string> } = {}) =>
  makePolicy({
    allowPrivate: false,
    allowedOrigins: [`http://127.0.0.1:${redirectorPort}`],
    resolver,
    ...extra
  })

const defaultDns = () => fakeDns({ localhost: ["127.0.0.1", "::1"], "loopback.example": ["127.0.0.1"] })

/** Fetches through the guarded client; the refusal (if any) as a UrlRefused. */
const fetchThrough = (policy: ReturnType<typeof makePolicy>, url: string) =>
  Effect.scoped(Effect.gen(function*() {
    const client = yield* policy.client
    return yield* client.execute(HttpClientRequest.get(url)).pipe(
      Effect.flatMap((r) => r.text),
      Effect.either
    )
  }))

const refusalOf = (e: Either.Either<unknown, unknown>): UrlRefused | undefined => {
  if (Either.isRight(e)) return undefined
  const error = e.left
  if (error instanceof UrlRefused) return error
  if (typeof error === "object" && error !== null && "cause" in error) {
    if (error.cause instanceof UrlRefused) return error.cause
    // a refusal in the agent's lookup surfaces as a transport error with code EREFUSED
    const inner = error.cause
    if (typeof inner === "object" && inner !== null && "code" in inner && inner.code === "EREFUSED") {
      return new UrlRefused({ reason: "non_public_address", message: "refused at connect" })
    }
  }
  return undefined
}

describe("outbound URL policy", () => {
  it.effect("control: an exempt origin is fetched, so the refusals below are the policy's doing", () =>
    Effect.gen(function*() {
      const result = yield* fetchThrough(policyWith(defaultDns()), `http://127.0.0.1:${redirectorPort}/ok`)
      expect(result).toEqual(Either.right("fine"))
    }))

  it.effect("a redirect to loopback (by address or by name) is refused at the hop", () =>
    Effect.gen(function*() {
      const policy = policyWith(defaultDns())
      for (const target of [`http://127.0.0.1:${canaryPort}/`, `http://localhost:${canaryPort}/`, `http://[::1]:${canaryPort}/`]) {
        const result = yield* fetchThrough(policy, `http://127.0.0.1:${redirectorPort}/r?to=${encodeURIComponent(target)}`)
        expect(refusalOf(result)?.reason).toBe("non_public_address")
      }
    }))

  it.effect("loopback in every spelling is refused: mapped IPv6, decimal, hex, octal, 0.0.0.0", () =>
    Effect.gen(function*() {
      const policy = policyWith(defaultDns())
      for (const host of ["[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "2130706433", "0x7f000001", "0x7f.0.0.1", "0177.0.0.1", "127.1", "0.0.0.0", "0", "[::]", "[::1]"]) {
        const url = `http://${host}:${canaryPort}/`
        const checked = yield* Effect.either(policy.check(url))
        expect(Either.isLeft(checked) && checked.left.reason).toBe("non_public_address")
        expect(refusalOf(yield* fetchThrough(policy, url))?.reason).toBe("non_public_address")
      }
    }))

  it.effect("documentation, benchmarking, reserved, metadata and private ranges are refused", () =>
    Effect.gen(function*() {
      const policy = policyWith(defaultDns())
      for (const host of ["192.0.2.10", "198.51.100.1", "203.0.113.9", "[2001:db8::1]", "198.18.0.1", "240.0.0.1", "169.254.169.254", "10.1.2.3", "172.16.0.1", "192.168.1.1", "100.64.0.1", "[fd00::1]", "[fe80::1]", "224.0.0.1", "[64:ff9b::7f00:1]", "[2002:7f00:1::]"]) {
        const checked = yield* Effect.either(policy.check(`https://${host}/x`))
        expect(Either.isLeft(checked) && checked.left.reason, host).toBe("non_public_address")
      }
      expect(rangeOf("8.8.8.8")).toBe("unicast")
      expect(Either.isRight(yield* Effect.either(policy.check("https://8.8.8.8/x")))).toBe(true)
    }))

  it.effect("the host's own addresses are refused", () =>
    Effect.gen(function*() {
      const own = policyWith(fakeDns({ "me.example": ["93.184.216.34"] }), { ownAddresses: new Set(["93.184.216.34"]) })
      for (const url of ["http://93.184.216.34/", "http://me.example/"]) {
        const checked = yield* Effect.either(own.check(url))
        expect(Either.isLeft(checked) && checked.left.reason).toBe("non_public_address")
      }
      // and by default, every address of this machine's interfaces
      const real = makePolicy({ allowPrivate: false, allowedOrigins: [], resolver: fakeDns({}) })
      for (const list of Object.values(os.networkInterfaces())) {
        for (const a of list ?? []) {
          const host = a.family === "IPv6" ? `[${a.address.split("%")[0]}]` : a.address
          const checked = yield* Effect.either(real.check(`http://${host}/`))
          expect(Either.isLeft(checked), a.address).toBe(true)
        }
      }
    }))

  it.effect("a name resolving to loopback is refused, at check and at fetch", () =>
    Effect.gen(function*() {
      const policy = policyWith(defaultDns())
      for (const host of ["localhost", "loopback.example"]) {
        const url = `http://${host}:${canaryPort}/`
        const checked = yield* Effect.either(policy.check(url))
        expect(Either.isLeft(checked) && checked.left.reason).toBe("non_public_address")
        expect(refusalOf(yield* fetchThrough(policy, url))).toBeDefined()
      }
      // a name with one public and one loopback address is refused too
      const mixed = policyWith(fakeDns({ "mixed.example": ["93.184.216.34", "127.0.0.1"] }))
      expect(Either.isLeft(yield* Effect.either(mixed.check("http://mixed.example/")))).toBe(true)
    }))

  it.effect("DNS rebinding: a name that passes the check and then resolves to loopback is refused at connect", () =>
    Effect.gen(function*() {
      let calls = 0
      const policy = policyWith(fakeDns({
        "rebind.example": () => (++calls === 1 ? ["93.184.216.34"] : ["127.0.0.1"])
      }))
      const result = yield* fetchThrough(policy, `http://rebind.example:${canaryPort}/`)
      expect(refusalOf(result)).toBeDefined()
      expect(calls).toBe(2)
    }))

  it.effect("mirrorTo-style configuration: file:, gopher:, internal targets and credentials are refused", () =>
    Effect.gen(function*() {
      const policy = policyWith(defaultDns())
      const cases: ReadonlyArray<readonly [string, string]> = [
        ["file:///etc/passwd", "scheme"],
        [`gopher://127.0.0.1:${canaryPort}/_x`, "scheme"],
        ["ftp://example.com/", "scheme"],
        ["javascript:alert(1)", "scheme"],
        ["not a url", "invalid_url"],
        ["http://user:pw@example.com/", "invalid_url"],
        [`http://127.0.0.1:${canaryPort}/mirror`, "non_public_address"],
        ["http://169.254.169.254/latest/meta-data", "non_public_address"],
        ["http://nowhere.invalid/", "unresolvable"]
      ]
      for (const [url, reason] of cases) {
        const checked = yield* Effect.either(policy.check(url))
        expect(Either.isLeft(checked) && checked.left.reason, url).toBe(reason)
        const fetched = yield* fetchThrough(policy, url)
        // an unparsable URL is refused by the client's own URL parsing, before the policy is asked
        if (reason === "invalid_url" && url === "not a url") expect(Either.isLeft(fetched)).toBe(true)
        else expect(refusalOf(fetched), url).toBeDefined()
      }
    }))
})
