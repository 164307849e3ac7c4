import { createHash, createHmac, timingSafeEqual } from "node:crypto"
import { parse as parseQuery, stringify as stringifyQuery } from "node:querystring"
import { constantTimeEqual, reveal, type Secret } from "../../webhooks/verify.ts"

/**
 * Twilio's request signature (`X-Twilio-Signature`): HMAC-SHA1 over the full URL
 * followed by every form field name+value, names sorted, keyed by the auth token,
 * base64. Used both to sign (sandbox carrier) and to verify (webhooks).
 */
export type FormParams = Readonly<Record<string, string | ReadonlyArray<string>>>

const signedString = (url: string, params: FormParams): string => {
  let s = url
  for (const name of Object.keys(params).sort()) {
    const value = params[name]
    const values = typeof value === "string" ? [value] : [...new Set(value ?? [])].sort()
    for (const v of values) s += name + v
  }
  return s
}

export const computeTwilioSignature = (authToken: string, url: string, params: FormParams): string =>
  createHmac("sha1", authToken).update(Buffer.from(signedString(url, params), "utf-8")).digest("base64")

const safeEqual = (a: string, b: string): boolean => {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/** The URL with the port removed and with the scheme's default port added: Twilio signs either. */
const urlVariants = (url: string): ReadonlyArray<string> => {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return [url]
  }
  const defaultPort = parsed.protocol === "https:" ? "443" : "80"
  const withoutPort = new URL(url)
  withoutPort.port = ""
  const hostWithPort = `${parsed.hostname.includes(":") ? `[${parsed.hostname}]` : parsed.hostname}:${
    parsed.port || defaultPort
  }`
  const withPort = `${parsed.protocol}//${parsed.username ? `${parsed.username}@` : ""}${hostWithPort}${parsed.pathname}${parsed.search}`
  return [...new Set([url, withoutPort.toString(), withPort])]
}

export const verifyTwilioSignature = (
  authToken: string,
  signature: string,
  url: string,
  params: FormParams
): boolean => {
  if (signature.length === 0 || signature.length > 128) return false
  return urlVariants(url).some((u) => safeEqual(computeTwilioSignature(authToken, u, params), signature))
}

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

