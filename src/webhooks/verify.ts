import { createHash, timingSafeEqual } from "node:crypto"
import { parse as parseQuery, stringify as stringifyQuery } from "node:querystring"
import * as Redacted from "effect/Redacted"
import { type FormParams, verifyTwilioSignature } from "./TwilioSignature.ts"

/**
 * Inbound webhook authentication. Every function here is total (returns `false`/a verdict on any
 * input, never throws) and compares secrets in constant time.
 */

/** A secret as configuration holds it (`Redacted`) or as a test passes it. */
export type Secret = string | Redacted.Redacted<string>

export const reveal = (secret: Secret): string => (typeof secret === "string" ? secret : Redacted.value(secret))

const sha256 = (data: string | Uint8Array): Buffer => createHash("sha256").update(data).digest()

/** Constant-time string equality that does not leak the length either (both sides hashed first). */
export const constantTimeEqual = (a: string, b: string): boolean => timingSafeEqual(sha256(a), sha256(b))

// ---------------------------------------------------------------------------------------------------------
// Twilio

/** Splits `scheme://authority` off a URL without normalizing anything (as twilio-node does). */
const splitUrl = (url: string) => {
  const match = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)/i.exec(url)
  if (match === null) return undefined
  const [prefix, scheme, authority] = match as unknown as [string, string, string]
  const userInfoEnd = authority.lastIndexOf("@")
  const hostAndPort = authority.slice(userInfoEnd + 1)
  const portStart = hostAndPort.indexOf(":", hostAndPort.lastIndexOf("]") + 1)
  return {
    scheme,
    userInfo: authority.slice(0, userInfoEnd + 1),
    host: portStart === -1 ? hostAndPort : hostAndPort.slice(0, portStart),
    port: portStart === -1 ? "" : hostAndPort.slice(portStart),
    rest: url.slice(prefix.length)
  }
}

const removePort = (url: string): string => {
  const p = splitUrl(url)
  return p === undefined ? url : p.scheme + p.userInfo + p.host + p.rest
}

const addPort = (url: string): string => {
  const p = splitUrl(url)
  if (p === undefined || p.port !== "") return url
  return p.scheme + p.userInfo + p.host + (p.scheme.toLowerCase() === "https://" ? ":443" : ":80") + p.rest
}

/** The query string re-encoded the way Node's legacy `querystring` module does (e.g. `'` → `%27`). */
const withLegacyQuery = (url: string): string => {
  const q = url.indexOf("?")
  if (q === -1 || q === url.length - 1) return url
  return url.slice(0, q) + "?" + stringifyQuery(parseQuery(url.slice(q + 1)))
}

/**
 * The URLs Twilio may have signed for a request received at `url`: the same candidates twilio-node 6.2
 * `validateRequest` tries (port removed / default port added, as received and WHATWG-normalized, and
 * with the legacy query encoding). `verifyTwilioSignature` adds its own port variants of each.
 */
export const twilioUrlCandidates = (url: string): ReadonlyArray<string> => {
  const out = [removePort(url), addPort(url)]
  try {
    const normalized = new URL(url).toString()
    const without = removePort(normalized)
    const withPort = addPort(normalized)
    out.push(without, withPort, withLegacyQuery(without), withLegacyQuery(withPort))
  } catch {
    // not a parseable URL: only the as-received variants apply
  }
  return [...new Set(out)]
}

const bodyHashParam = (url: string): string | undefined => {
  try {
    return new URL(url).searchParams.get("bodySHA256") ?? undefined
  } catch {
    return undefined
  }
}

export interface TwilioRequest {
  readonly authToken: Secret
  /** The `X-Twilio-Signature` header. */
  readonly signatureHeader: string | undefined
  /** The full public URL Twilio requested, query string included, exactly as configured in Twilio. */
  readonly url: string
  /** Every decoded form field (repeated names as arrays). Ignored in JSON-body mode. */
  readonly params: FormParams
  /** The raw body; required when the URL carries `bodySHA256` (JSON bodies). */
  readonly rawBody?: string | Uint8Array
}

/**
 * Verifies `X-Twilio-Signature`. Form posts: HMAC-SHA1 over URL + sorted fields. When the URL carries a
 * `bodySHA256` query parameter (non-form bodies), the signature covers the URL alone and the raw body's
 * SHA-256 (lowercase hex) must equal that parameter; both must hold.
 */
export const verifyTwilioRequest = (request: TwilioRequest): boolean => {
  try {
    const { authToken, signatureHeader, url, params, rawBody } = request
    const token = reveal(authToken)
    if (typeof token !== "string" || token === "" || typeof signatureHeader !== "string" || typeof url !== "string") {
      return false
    }
    const bodyHash = bodyHashParam(url)
    const signed = bodyHash !== undefined ? {} : typeof params === "object" && params !== null ? params : {}
    const signatureOk = twilioUrlCandidates(url).some((u) => verifyTwilioSignature(token, signatureHeader, u, signed))
    if (bodyHash === undefined) return signatureOk
    if (typeof rawBody !== "string" && !(rawBody instanceof Uint8Array)) return false
    const actual = createHash("sha256").update(rawBody).digest("hex")
    const bodyOk = constantTimeEqual(actual, bodyHash)
    return signatureOk && bodyOk
  } catch {
    return false
  }
}

// ---------------------------------------------------------------------------------------------------------
// Shared secrets for unsigned webhooks (SendGrid Inbound Parse)

/** Compares a secret presented in the webhook URL (path segment or query) with the configured one. */
export const verifyUrlSecret = (args: {
  readonly expected: Redacted.Redacted<string>
  readonly presented: string | undefined
}): boolean => {
  try {
    const expected = Redacted.value(args.expected)
    if (typeof expected !== "string" || expected === "" || typeof args.presented !== "string") return false
    return constantTimeEqual(expected, args.presented)
  } catch {
    return false
  }
}

/**
 * Checks an `Authorization: Basic …` header (SendGrid Inbound Parse posts to `https://user:pass@host/…`).
 * User and password are both compared, in constant time, whatever the first comparison says.
 */
export const verifyBasicAuth = (header: string | undefined, user: string, pass: Secret): boolean => {
  try {
    const expectedPass = reveal(pass)
    if (typeof header !== "string" || typeof user !== "string" || typeof expectedPass !== "string") return false
    if (expectedPass === "" || header.length > 4096) return false
    const m = /^\s*basic\s+([A-Za-z0-9+/_-]+={0,2})\s*$/i.exec(header)
    if (m === null) return false
    const decoded = Buffer.from(m[1]!, "base64").toString("utf8")
    const colon = decoded.indexOf(":")
    if (colon === -1) return false
    const userOk = constantTimeEqual(decoded.slice(0, colon), user)
    const passOk = constantTimeEqual(decoded.slice(colon + 1), expectedPass)
    return userOk && passOk
  } catch {
    return false
  }
}

// ---------------------------------------------------------------------------------------------------------
// Replay window

export type TimestampVerdict = "ok" | "too_old" | "too_new"

/**
 * Whether a sender's unix timestamp (seconds) is within `toleranceSeconds` of now (inclusive, compared in
 * whole seconds as the Standard Webhooks libraries do). Non-finite input fails closed as `too_old`.
 */
export const checkTimestamp = (
  timestampSeconds: number,
  nowMillis: number,
  toleranceSeconds: number = 300
): TimestampVerdict => {
  if (typeof timestampSeconds !== "number" || typeof nowMillis !== "number" || typeof toleranceSeconds !== "number") {
    return "too_old"
  }
  if (Number.isNaN(timestampSeconds) || !Number.isFinite(nowMillis)) return "too_old"
  const tolerance = Number.isFinite(toleranceSeconds) ? Math.max(0, toleranceSeconds) : 0
  const now = Math.floor(nowMillis / 1000)
  if (now - timestampSeconds > tolerance) return "too_old"
  if (timestampSeconds - now > tolerance) return "too_new"
  return "ok"
}
