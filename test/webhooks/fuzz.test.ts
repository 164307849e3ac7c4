/**
 * Totality: arbitrary bodies, content types, field records and headers never make the parsers,
 * decoders or signature checks throw, reject or die. Failures are typed `WebhookParseError`s whose
 * messages never contain the input's values.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fc from "fast-check"
import type { MultipartParts } from "../../schema/Webhooks.ts"
import { verify } from "../../src/webhooks/StandardWebhooks.ts"
import { decodeSendGridInbound } from "../../src/providers/sendgrid/SendGridInbound.ts"
import { verifyTwilioRequest } from "../../src/providers/twilio/TwilioSignature.ts"
import { decodeTwilioMessage, decodeTwilioStatus } from "../../src/providers/twilio/TwilioWebhooks.ts"
import { type FormInput, parseForm, parseMultipart } from "../../src/webhooks/parse.ts"
import { encodeMultipart, outcome } from "./support.ts"

const RUNS = 300

/** A marker that must never show up in an error message (stands in for a phone number or address). */
const PII = "Zq9PIIMARKER"

const twilioNames = [
  "MessageSid", "AccountSid", "From", "To", "Body", "NumMedia", "ProfileName", "WaId", "MediaUrl0",
  "MediaContentType0", "MediaUrl1", "MediaUrl19", "MessageStatus", "SmsStatus", "SmsSid", "CallSid",
  "CallStatus", "CallDuration", "ErrorCode", "__proto__", "constructor"
]

const plausibleValue = fc.oneof(
  fc.string(),
  fc.constantFrom(
    "", "0", "1", "2", "20", "21", "-1", "1e3", "NaN", " 1", "SM" + "a".repeat(32), "whatsapp:+14155550100",
    "whatsapp:", "messenger:1", "+14155550100", "https://api.twilio.com/x", "javascript:x", "delivered",
    "completed", "teleported", PII, `whatsapp:${PII}`, `https://${PII}.example/x`
  ),
  fc.string().map((s) => s + PII)
)

const formInput: fc.Arbitrary<FormInput> = fc.dictionary(
  fc.oneof(fc.constantFrom(...twilioNames), fc.string()),
  fc.oneof(plausibleValue, fc.array(plausibleValue, { maxLength: 3 })),
  { maxKeys: 12 }
)

const expectNoPii = (result: { readonly _tag: string; readonly error?: { readonly message: string } }) => {
  if (result._tag === "error") expect(result.error?.message).not.toContain("PIIMARKER")
}

describe("parseForm never throws", () => {
  it("on arbitrary strings (full unicode, lone surrogates)", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: "binary" }), fc.string({ unit: "grapheme" }), fc.string()), (body) => {
        const parsed = parseForm(body)
        for (const key of Object.keys(parsed)) {
          const value: unknown = Object.getOwnPropertyDescriptor(parsed, key)?.value
          expect(typeof value === "string" || (Array.isArray(value) && value.every((v) => typeof v === "string"))).toBe(true)
        }
      }),
      { numRuns: 1000 }
    )
  })
})

const contentTypes = fc.oneof(
  fc.constantFrom(
    "", "multipart/form-data", "multipart/form-data; boundary=", "multipart/form-data; boundary=\"\"",
    "multipart/form-data; boundary=b", "multipart/form-data; boundary=\"unterminated", "multipart/form-data;;;",
    "text/plain", "application/x-www-form-urlencoded", "multipart/mixed; boundary=b",
    "multipart/form-data; boundary=b\r\nX-Injected: 1", "multipart/form-data; boundary=\u00ff", "multipart/form-data; boundary=\u2028"
  ),
  fc.string().map((s) => `multipart/form-data; boundary=${s}`),
  fc.string({ unit: "binary" })
)

/** Bytes that look like multipart with boundary `b`, with random noise mixed in. */
const multipartish = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        "--b\r\n", "--b--\r\n", "--b--", "\r\n", "\n", "Content-Disposition: form-data; name=\"a\"\r\n",
        "Content-Disposition: form-data; name=\"f\"; filename=\"x.bin\"\r\n", "Content-Type: text/plain\r\n",
        "Content-Disposition: form-data; name=\"a\"; filename*=UTF-8''x\r\n", "\r\n\r\n", "value", "--"
      ),
      fc.string({ unit: "binary", maxLength: 20 })
    ),
    { maxLength: 30 }
  )
  .map((pieces) => new TextEncoder().encode(pieces.join("")))

describe("parseMultipart never throws or rejects", () => {
  it("on arbitrary bytes and content types", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 512 }), multipartish), contentTypes, async (body, ct) => {
        await outcome(parseMultipart(body, ct))
      }),
      { numRuns: RUNS }
    )
  })

  it("on multipart-looking bytes with the right boundary", async () => {
    await fc.assert(
      fc.asyncProperty(multipartish, async (body) => {
        await outcome(parseMultipart(body, "multipart/form-data; boundary=b", { maxBytes: 4096, maxParts: 8 }))
      }),
      { numRuns: RUNS }
    )
  })

  it("on real FormData bodies with random bytes flipped or truncated", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.string({ unit: "grapheme" }), fc.string({ unit: "grapheme" }), fc.boolean()), { maxLength: 5 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        fc.option(fc.nat()),
        async (entries, flips, cut) => {
          const form = new FormData()
          for (const [name, value, asFile] of entries) {
            if (asFile) form.append(name, new Blob([value]), value)
            else form.append(name, value)
          }
          const { body, contentType } = await encodeMultipart(form)
          const mutated = Uint8Array.from(body)
          for (const [at, byte] of flips) if (mutated.length > 0) mutated[at % mutated.length] = byte
          const input = cut === null ? mutated : mutated.subarray(0, cut % (mutated.length + 1))
          const result = await outcome(parseMultipart(input, contentType))
          if (flips.length === 0 && cut === null) expect(result._tag).toBe("ok")
        }
      ),
      { numRuns: RUNS }
    )
  })
})

describe("decoders never throw and never echo values", () => {
  it("decodeTwilioMessage on arbitrary records", async () => {
    await fc.assert(
      fc.asyncProperty(formInput, async (fields) => expectNoPii(await outcome(decodeTwilioMessage(fields)))),
      { numRuns: RUNS }
    )
  })

  it("decodeTwilioStatus on arbitrary records", async () => {
    await fc.assert(
      fc.asyncProperty(formInput, async (fields) => expectNoPii(await outcome(decodeTwilioStatus(fields)))),
      { numRuns: RUNS }
    )
  })

  it("decoders on values that are not records at all", async () => {
    await fc.assert(
      fc.asyncProperty(fc.anything(), async (junk) => {
        await outcome(decodeTwilioMessage(junk as FormInput))
        await outcome(decodeTwilioStatus(junk as FormInput))
        await outcome(decodeSendGridInbound(junk as MultipartParts))
        await outcome(decodeSendGridInbound({ fields: junk, files: junk } as MultipartParts))
      }),
      { numRuns: RUNS }
    )
  })

  const mimePiece = fc.constantFrom(
    "From: a@b.c\r\n", "To: d@e.f\r\n", "Subject: =?UTF-8?B?w6k=?=\r\n", "Subject: =?bogus-charset?Q?=ZZ_x?=\r\n",
    "Content-Type: multipart/alternative; boundary=x\r\n", "Content-Type: multipart/mixed; boundary=\"x\"\r\n",
    "Content-Type: text/plain; charset=iso-8859-1\r\n", "Content-Type: text/plain; charset=no-such-charset\r\n",
    "Content-Transfer-Encoding: base64\r\n", "Content-Transfer-Encoding: quoted-printable\r\n",
    "Content-Disposition: attachment\r\n", "--x\r\n", "--x--\r\n", "\r\n", "\n\n", "=C3=A9", "=\r\n", "=Z", "=",
    "w6k=", "\t folded\r\n", `From: ${PII} <${PII}@x.y>\r\n`
  )
  const rawEmail = fc.array(fc.oneof(mimePiece, fc.string({ maxLength: 10 })), { maxLength: 40 }).map((p) => p.join(""))
  const sendGridFields = fc.dictionary(
    fc.constantFrom(
      "from", "to", "subject", "text", "html", "headers", "envelope", "attachments", "attachment-info", "email",
      "rawEmail", "charsets"
    ),
    fc.oneof(
      plausibleValue,
      rawEmail,
      fc.json(),
      fc.constantFrom(
        "{\"to\":[\"a@b.c\"],\"from\":null}", "{\"to\":\"x\"}", "{\"to\":[1]}", "{", "null", "[]",
        "{\"attachment1\":{\"filename\":\"a\",\"type\":\"x/y\"}}", "{\"attachment1\":5}",
        "<p>a &amp; b &#0; &#x110000; &#55296;</p><script>", `"${PII}" <${PII}@example.com>`
      )
    ),
    { maxKeys: 8 }
  )
  const files = fc.array(
    fc.record({
      field: fc.oneof(fc.constantFrom("attachment1", "attachment2", "attachment0", "attachment999999", "x"), fc.string()),
      filename: fc.string(),
      contentType: fc.string(),
      size: fc.oneof(fc.nat(), fc.double())
    }),
    { maxLength: 4 }
  )

  it("decodeSendGridInbound on arbitrary parts (parsed and raw mode)", async () => {
    await fc.assert(
      fc.asyncProperty(sendGridFields, files, async (fields, fs) =>
        expectNoPii(await outcome(decodeSendGridInbound({ fields, files: fs })))
      ),
      { numRuns: RUNS }
    )
  })

  it("stay fast on adversarial raw emails", async () => {
    const started = performance.now()
    const huge = [
      "From: a@b.c\r\nTo: d@e.f\r\nSubject: " + "=?".repeat(50_000) + "\r\n",
      "Content-Type: multipart/mixed; boundary=x\r\n\r\n",
      "--x\r\n\r\n".repeat(20_000),
      "=".repeat(100_000)
    ].join("")
    await outcome(decodeSendGridInbound({ fields: { email: huge }, files: [] }))
    await outcome(decodeSendGridInbound({ fields: { from: "a@b.c", to: "d@e.f", html: "<a".repeat(100_000) }, files: [] }))
    await outcome(decodeSendGridInbound({ fields: { from: "(".repeat(60_000) + "a@b.c", to: "\"".repeat(60_000) }, files: [] }))
    expect(performance.now() - started).toBeLessThan(3_000)
  })
})

describe("signature checks never throw", () => {
  it("verifyTwilioRequest on arbitrary requests", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.constant("")),
        fc.option(fc.string(), { nil: undefined }),
        fc.oneof(fc.webUrl({ withQueryParameters: true }), fc.string(), fc.constant("https://x.y/?bodySHA256=abc")),
        formInput,
        fc.option(fc.oneof(fc.string(), fc.uint8Array()), { nil: undefined }),
        (authToken, signatureHeader, url, params, rawBody) => {
          const result = verifyTwilioRequest({
            authToken,
            signatureHeader,
            url,
            params,
            ...(rawBody !== undefined ? { rawBody } : {})
          })
          expect(typeof result).toBe("boolean")
        }
      ),
      { numRuns: RUNS }
    )
  })

  it("verifyTwilioRequest on values of the wrong type", () => {
    fc.assert(
      fc.property(fc.anything(), fc.anything(), fc.anything(), fc.anything(), (a, b, c, d) => {
        const request = { authToken: a, signatureHeader: b, url: c, params: d } as unknown as Parameters<typeof verifyTwilioRequest>[0]
        expect(verifyTwilioRequest(request)).toBe(false)
      }),
      { numRuns: RUNS }
    )
  })

  it("StandardWebhooks.verify on arbitrary headers, bodies and secrets", () => {
    const headerValue = fc.oneof(
      fc.string(),
      fc.array(fc.string(), { maxLength: 3 }),
      fc.constant(undefined),
      fc.integer().map(String),
      fc.string().map((s) => `v1,${s} v1,${Buffer.from(s).toString("base64")}`)
    )
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.oneof(
            fc.constantFrom("webhook-id", "webhook-timestamp", "webhook-signature", "svix-id", "svix-timestamp", "svix-signature", "Webhook-Id"),
            fc.string()
          ),
          headerValue,
          { maxKeys: 8 }
        ),
        fc.oneof(fc.string(), fc.uint8Array()),
        fc.oneof(fc.string(), fc.string().map((s) => `whsec_${s}`)),
        fc.oneof(fc.integer(), fc.double()),
        fc.option(fc.oneof(fc.integer(), fc.double()), { nil: undefined }),
        (headers, body, secret, nowMillis, toleranceSeconds) => {
          const result = verify({
            secret,
            headers,
            body,
            nowMillis,
            ...(toleranceSeconds !== undefined ? { toleranceSeconds } : {})
          })
          expect(result.ok || ["missing_headers", "bad_signature", "timestamp_out_of_range"].includes(result.reason)).toBe(true)
        }
      ),
      { numRuns: RUNS }
    )
  })

  it("StandardWebhooks.verify on values of the wrong type", () => {
    fc.assert(
      fc.property(fc.anything(), fc.anything(), fc.anything(), (headers, body, secret) => {
        const args = { headers, body, secret, nowMillis: 0 } as unknown as Parameters<typeof verify>[0]
        expect(verify(args).ok).toBe(false)
      }),
      { numRuns: RUNS }
    )
  })

  it("Effect wrappers stay in the typed channel under Effect.either too", async () => {
    const result = await Effect.runPromise(Effect.either(parseMultipart(new Uint8Array([0xff]), "multipart/form-data; boundary=b")))
    expect(result._tag).toBe("Left")
  })
})
