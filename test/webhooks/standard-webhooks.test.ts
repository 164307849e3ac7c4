/**
 * Standard Webhooks signing/verification for orchestrator callbacks: the official test vector,
 * tampering, the ±5 minute window, secret rotation (several signatures), header handling.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Redacted from "effect/Redacted"
import * as fc from "fast-check"
import { createHmac } from "node:crypto"
import { generateSecret, secretKey, sign, verify } from "../../src/webhooks/StandardWebhooks.ts"

// From the Standard Webhooks / Svix libraries' tests.
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
const MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
const TIMESTAMP = 1614265330
const PAYLOAD = "{\"test\": 2432232314}"
const EXPECTED = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
const NOW = TIMESTAMP * 1000

describe("Standard Webhooks", () => {
  it("matches the official test vector", () => {
    const headers = sign({ secret: SECRET, id: MSG_ID, timestamp: TIMESTAMP, body: PAYLOAD })
    expect(headers).toEqual({
      "webhook-id": MSG_ID,
      "webhook-timestamp": String(TIMESTAMP),
      "webhook-signature": EXPECTED
    })
    expect(verify({ secret: SECRET, headers, body: PAYLOAD, nowMillis: NOW })).toEqual({ ok: true })
    expect(verify({ secret: Redacted.make(SECRET), headers, body: new TextEncoder().encode(PAYLOAD), nowMillis: NOW }))
      .toEqual({ ok: true })
  })

  it("a secret without whsec_ is used as its UTF-8 bytes", () => {
    const headers = sign({ secret: "plain-secret-ä", id: "m1", timestamp: TIMESTAMP, body: "{}" })
    const expected = createHmac("sha256", Buffer.from("plain-secret-ä", "utf8")).update(`m1.${TIMESTAMP}.{}`).digest("base64")
    expect(headers["webhook-signature"]).toBe(`v1,${expected}`)
    expect(secretKey("whsec_AAEC")).toEqual(Buffer.from([0, 1, 2]))
    expect(generateSecret()).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
  })

  it("one changed byte anywhere in the body → bad_signature", () => {
    const headers = sign({ secret: SECRET, id: MSG_ID, timestamp: TIMESTAMP, body: PAYLOAD })
    const bytes = new TextEncoder().encode(PAYLOAD)
    fc.assert(
      fc.property(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 255 }), (index, delta) => {
        const tampered = Uint8Array.from(bytes)
        tampered[index] = (tampered[index]! + delta) % 256
        expect(verify({ secret: SECRET, headers, body: tampered, nowMillis: NOW })).toEqual({
          ok: false,
          reason: "bad_signature"
        })
      })
    )
  })

  it("tampered id, timestamp, signature or secret → bad_signature", () => {
    const headers = sign({ secret: SECRET, id: MSG_ID, timestamp: TIMESTAMP, body: PAYLOAD })
    const bad = { ok: false, reason: "bad_signature" }
    expect(verify({ secret: SECRET, headers: { ...headers, "webhook-id": MSG_ID + "x" }, body: PAYLOAD, nowMillis: NOW }))
      .toEqual(bad)
    expect(
      verify({ secret: SECRET, headers: { ...headers, "webhook-timestamp": String(TIMESTAMP + 1) }, body: PAYLOAD, nowMillis: NOW })
    ).toEqual(bad)
    const sig = headers["webhook-signature"]
    const flipped = sig.slice(0, 10) + (sig[10] === "A" ? "B" : "A") + sig.slice(11)
    expect(verify({ secret: SECRET, headers: { ...headers, "webhook-signature": flipped }, body: PAYLOAD, nowMillis: NOW }))
      .toEqual(bad)
    expect(verify({ secret: "whsec_" + "A".repeat(32), headers, body: PAYLOAD, nowMillis: NOW })).toEqual(bad)
    // an empty key never verifies, even against its own signature
    const empty = sign({ secret: "", id: MSG_ID, timestamp: TIMESTAMP, body: PAYLOAD })
    expect(verify({ secret: "", headers: empty, body: PAYLOAD, nowMillis: NOW })).toEqual(bad)
  })

  it("timestamps: ±5 minutes ok, one second beyond is out of range (checked before the signature)", () => {
    const headers = sign({ secret: SECRET, id: MSG_ID, timestamp: TIMESTAMP, body: PAYLOAD })
    const at = (nowMillis: number, toleranceSeconds?: number) =>
      verify({ secret: SECRET, headers, body: PAYLOAD, nowMillis, ...(toleranceSeconds !== undefined ? { toleranceSeconds } : {}) })
    expect(at(NOW + 300_000)).toEqual({ ok: true })
    expect(at(NOW - 300_000)).toEqual({ ok: true })
    expect(at(NOW + 301_000)).toEqual({ ok: false, reason: "timestamp_out_of_range" })
    expect(at(NOW - 301_000)).toEqual({ ok: false, reason: "timestamp_out_of_range" })
    expect(at(NOW + 60_000, 30)).toEqual({ ok: false, reason: "timestamp_out_of_range" })
    expect(
      verify({ secret: SECRET, headers: { ...headers, "webhook-signature": "v1,junk" }, body: PAYLOAD, nowMillis: NOW + 10_000_000 })
    ).toEqual({ ok: false, reason: "timestamp_out_of_range" })
  })

  it("accepts any of several signatures (secret rotation) and only v1 entries", () => {
    const headers = sign({ secret: SECRET, id: MSG_ID, timestamp: TIMESTAMP, body: PAYLOAD })
    const withSigs = (s: string) => ({ ...headers, "webhook-signature": s })
    const check = (s: string) => verify({ secret: SECRET, headers: withSigs(s), body: PAYLOAD, nowMillis: NOW })
    expect(check(`v1,Zm9v ${EXPECTED} v1a,bar`)).toEqual({ ok: true })
    expect(check(`  v1,Zm9v   ${EXPECTED}  `)).toEqual({ ok: true })
    expect(check(`v1a,${EXPECTED.slice(3)}`)).toEqual({ ok: false, reason: "bad_signature" })
    expect(check(EXPECTED.slice(3))).toEqual({ ok: false, reason: "bad_signature" })
    expect(check(`v2,${EXPECTED.slice(3)}`)).toEqual({ ok: false, reason: "bad_signature" })
  })

  it("headers: Headers objects, any case, arrays, svix-* names; missing or malformed → missing_headers", () => {
    const signed = sign({ secret: SECRET, id: MSG_ID, timestamp: TIMESTAMP, body: PAYLOAD })
    const ok = { ok: true }
    const missing = { ok: false, reason: "missing_headers" }
    const run = (headers: Parameters<typeof verify>[0]["headers"]) => verify({ secret: SECRET, headers, body: PAYLOAD, nowMillis: NOW })
    expect(run(new Headers(signed))).toEqual(ok)
    expect(run({ "Webhook-Id": MSG_ID, "WEBHOOK-TIMESTAMP": String(TIMESTAMP), "Webhook-Signature": EXPECTED })).toEqual(ok)
    expect(run({ ...signed, "webhook-signature": ["v1,Zm9v", EXPECTED] })).toEqual(ok)
    expect(run({ "svix-id": MSG_ID, "svix-timestamp": String(TIMESTAMP), "svix-signature": EXPECTED })).toEqual(ok)
    expect(run({})).toEqual(missing)
    expect(run({ ...signed, "webhook-id": "" })).toEqual(missing)
    expect(run({ ...signed, "webhook-timestamp": undefined })).toEqual(missing)
    expect(run({ ...signed, "webhook-timestamp": "1614265330.5" })).toEqual(missing)
    expect(run({ ...signed, "webhook-timestamp": "-1" })).toEqual(missing)
    expect(run({ ...signed, "webhook-signature": "   " })).toEqual(missing)
  })

  it("sign → verify round-trips for any secret, id, timestamp and body", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ minLength: 1 }), fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => "whsec_" + Buffer.from(b).toString("base64"))),
        fc.string({ minLength: 1, maxLength: 64 }).filter((s) => s.trim() === s && !/\s/.test(s)),
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.oneof(fc.string(), fc.uint8Array()),
        fc.integer({ min: -300, max: 300 }),
        (secret, id, timestamp, body, skew) => {
          const headers = sign({ secret, id, timestamp, body })
          expect(verify({ secret, headers, body, nowMillis: (timestamp + skew) * 1000 })).toEqual({ ok: true })
        }
      )
    )
  })
})
