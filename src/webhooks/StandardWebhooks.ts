import { createHmac, randomBytes, timingSafeEqual } from "node:crypto"
import { checkTimestamp, reveal, type Secret } from "./verify.ts"

/**
 * Standard Webhooks (https://www.standardwebhooks.com, the scheme Svix-based vendors use) signing and
 * verification for our callbacks to the orchestrator.
 *
 * - `webhook-id`: unique message id (the receiver's idempotency key)
 * - `webhook-timestamp`: unix seconds
 * - `webhook-signature`: space-separated `v1,<base64 HMAC-SHA256>` entries over `${id}.${timestamp}.${body}`
 *
 * Key: for `whsec_<base64>` secrets, the base64-decoded bytes; any other secret is used as its UTF-8 bytes.
 * (The official libraries base64-decode a secret even without the prefix; ours differs only there.)
 */

export const SECRET_PREFIX = "whsec_"

// A type alias (not an interface) so that it is assignable to header records and `HeadersInit`.
export type StandardWebhookHeaders = {
  readonly "webhook-id": string
  readonly "webhook-timestamp": string
  readonly "webhook-signature": string
}

/** Incoming headers: a web `Headers` or a Node-style record (names in any case). */
export type HeaderSource = Headers | Readonly<Record<string, string | ReadonlyArray<string> | undefined>>

export type VerifyFailure = "missing_headers" | "bad_signature" | "timestamp_out_of_range"
export type VerifyResult = { readonly ok: true } | { readonly ok: false; readonly reason: VerifyFailure }

const MAX_ID_LENGTH = 1024
const MAX_SIGNATURE_HEADER = 8192
const MAX_SIGNATURES = 32

/** The HMAC key bytes for a secret. */
export const secretKey = (secret: Secret): Buffer => {
  const s = reveal(secret)
  return s.startsWith(SECRET_PREFIX) ? Buffer.from(s.slice(SECRET_PREFIX.length), "base64") : Buffer.from(s, "utf8")
}

/** A fresh `whsec_` secret with 32 random bytes. */
export const generateSecret = (): string => SECRET_PREFIX + randomBytes(32).toString("base64")

const signature = (key: Buffer, id: string, timestamp: string, body: string | Uint8Array): string =>
  createHmac("sha256", key).update(`${id}.${timestamp}.`, "utf8").update(body).digest("base64")

/** The three headers for a callback. `timestamp` is unix seconds (fractions are dropped). */
export const sign = (args: {
  readonly secret: Secret
  readonly id: string
  readonly timestamp: number
  readonly body: string | Uint8Array
}): StandardWebhookHeaders => {
  const timestamp = String(Math.floor(args.timestamp))
  return {
    "webhook-id": args.id,
    "webhook-timestamp": timestamp,
    "webhook-signature": `v1,${signature(secretKey(args.secret), args.id, timestamp, args.body)}`
  }
}

const headerGetter = (headers: HeaderSource): ((name: string) => string | undefined) => {
  if (typeof Headers !== "undefined" && headers instanceof Headers) {
    return (name) => headers.get(name) ?? undefined
  }
  const record = headers as Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
  const lower = new Map<string, string | ReadonlyArray<string>>()
  for (const key of Object.keys(record)) {
    const value = record[key]
    const name = key.toLowerCase()
    if (value !== undefined && (!lower.has(name) || key === name)) lower.set(name, value)
  }
  return (name) => {
    const value = lower.get(name)
    if (value === undefined || typeof value === "string") return value
    if (!Array.isArray(value)) return undefined
    const strings = (value as ReadonlyArray<unknown>).filter((v): v is string => typeof v === "string")
    return strings.length === 0 ? undefined : name.endsWith("-signature") ? strings.join(" ") : strings[0]
  }
}

const fail = (reason: VerifyFailure): VerifyResult => ({ ok: false, reason })

/**
 * Verifies a Standard Webhooks request (also accepts Svix's `svix-*` header names). The timestamp is
 * checked first (±`toleranceSeconds`), then any `v1` entry of the signature header may match.
 */
export const verify = (args: {
  readonly secret: Secret
  readonly headers: HeaderSource
  readonly body: string | Uint8Array
  readonly nowMillis: number
  readonly toleranceSeconds?: number
}): VerifyResult => {
  try {
    if (typeof args.headers !== "object" || args.headers === null) return fail("missing_headers")
    const get = headerGetter(args.headers)
    const prefix = get("webhook-id") !== undefined ? "webhook" : get("svix-id") !== undefined ? "svix" : "webhook"
    const id = get(`${prefix}-id`)
    const timestamp = get(`${prefix}-timestamp`)
    const header = get(`${prefix}-signature`)
    if (id === undefined || id === "" || id.length > MAX_ID_LENGTH) return fail("missing_headers")
    if (timestamp === undefined || !/^\d{1,15}$/.test(timestamp)) return fail("missing_headers")
    if (header === undefined || header.trim() === "") return fail("missing_headers")
    if (checkTimestamp(Number(timestamp), args.nowMillis, args.toleranceSeconds ?? 300) !== "ok") {
      return fail("timestamp_out_of_range")
    }
    const body = args.body
    if (typeof body !== "string" && !(body instanceof Uint8Array)) return fail("bad_signature")
    const key = secretKey(args.secret)
    if (key.length === 0 || header.length > MAX_SIGNATURE_HEADER) return fail("bad_signature")
    const expected = Buffer.from(signature(key, id, timestamp, body), "utf8")
    let matched = false
    for (const entry of header.trim().split(/\s+/).slice(0, MAX_SIGNATURES)) {
      const comma = entry.indexOf(",")
      if (comma === -1 || entry.slice(0, comma) !== "v1") continue
      const presented = Buffer.from(entry.slice(comma + 1), "utf8")
      if (presented.length === expected.length && timingSafeEqual(presented, expected)) matched = true
    }
    return matched ? { ok: true } : fail("bad_signature")
  } catch {
    return fail("bad_signature")
  }
}
