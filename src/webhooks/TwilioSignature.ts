import { createHmac, timingSafeEqual } from "node:crypto"

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
