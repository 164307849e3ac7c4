import { createHash, timingSafeEqual } from "node:crypto"
import * as Redacted from "effect/Redacted"

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
// Shared secrets for unsigned webhooks (inbound mail posts)

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
 * Checks an `Authorization: Basic …` header (unsigned vendor posts to `https://user:pass@host/…`).
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
