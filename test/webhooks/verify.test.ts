/**
 * Twilio request verification (vectors from protocols.md 1.6, cross-checked against twilio-node 6.2),
 * shared-secret checks for unsigned webhooks, and the replay window.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Redacted from "effect/Redacted"
import * as fc from "fast-check"
import { createHash } from "node:crypto"
import twilio from "twilio"
import {
  computeTwilioSignature,
  type FormParams,
  twilioUrlCandidates,
  verifyTwilioRequest
} from "../../src/providers/twilio/TwilioSignature.ts"
import { checkTimestamp, verifyBasicAuth, verifyUrlSecret } from "../../src/webhooks/verify.ts"

const TOKEN = "12345"
const BASE = "https://mycompany.com/myapp.php?foo=1&bar=2"
const CALL = {
  CallSid: "CA1234567890ABCDE",
  Caller: "+14158675309",
  Digits: "1234",
  From: "+14158675309",
  To: "+18005551212"
}

describe("verifyTwilioRequest: protocols.md 1.6 vectors", () => {
  it("form posts", () => {
    expect(computeTwilioSignature(TOKEN, BASE, CALL)).toBe("RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    expect(verifyTwilioRequest({ authToken: TOKEN, signatureHeader: "RSOYDt4T1cUTdK1PDd93/VVr8B8=", url: BASE, params: CALL }))
      .toBe(true)
    const other = { ...CALL, Caller: "+12349013030", From: "+12349013030" }
    expect(verifyTwilioRequest({ authToken: TOKEN, signatureHeader: "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", url: BASE, params: other }))
      .toBe(true)
    // wrong params, token, URL, missing header
    expect(verifyTwilioRequest({ authToken: TOKEN, signatureHeader: "RSOYDt4T1cUTdK1PDd93/VVr8B8=", url: BASE, params: other }))
      .toBe(false)
    expect(verifyTwilioRequest({ authToken: "54321", signatureHeader: "RSOYDt4T1cUTdK1PDd93/VVr8B8=", url: BASE, params: CALL }))
      .toBe(false)
    expect(verifyTwilioRequest({ authToken: TOKEN, signatureHeader: "RSOYDt4T1cUTdK1PDd93/VVr8B8=", url: BASE + "&x=1", params: CALL }))
      .toBe(false)
    expect(verifyTwilioRequest({ authToken: TOKEN, signatureHeader: undefined, url: BASE, params: CALL })).toBe(false)
    expect(verifyTwilioRequest({ authToken: "", signatureHeader: "RSOYDt4T1cUTdK1PDd93/VVr8B8=", url: BASE, params: CALL }))
      .toBe(false)
    // a Redacted token works the same
    expect(
      verifyTwilioRequest({
        authToken: Redacted.make(TOKEN),
        signatureHeader: "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
        url: BASE,
        params: CALL
      })
    ).toBe(true)
  })

  it("the :443 variant is accepted both ways", () => {
    const withPort = "https://mycompany.com:443/myapp.php?foo=1&bar=2"
    const sig = computeTwilioSignature(TOKEN, withPort, CALL)
    expect(verifyTwilioRequest({ authToken: TOKEN, signatureHeader: sig, url: BASE, params: CALL })).toBe(true)
    expect(verifyTwilioRequest({ authToken: TOKEN, signatureHeader: "RSOYDt4T1cUTdK1PDd93/VVr8B8=", url: withPort, params: CALL }))
      .toBe(true)
  })

  it("JSON body with bodySHA256: signature over the URL alone plus the body hash", () => {
    const body = "{\"property\": \"value\", \"boolean\": true}"
    const hash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
    expect(createHash("sha256").update(body).digest("hex")).toBe(hash)
    const url = `${BASE}&bodySHA256=${hash}`
    const signatureHeader = "a9nBmqA0ju/hNViExpshrM61xv4="
    expect(verifyTwilioRequest({ authToken: TOKEN, signatureHeader, url, params: {}, rawBody: body })).toBe(true)
    expect(verifyTwilioRequest({ authToken: TOKEN, signatureHeader, url, params: {}, rawBody: new TextEncoder().encode(body) }))
      .toBe(true)
    // form params are ignored in body mode (as twilio-node does)
    expect(verifyTwilioRequest({ authToken: TOKEN, signatureHeader, url, params: { a: "b" }, rawBody: body })).toBe(true)
    // tampered body, missing body, wrong signature
    expect(verifyTwilioRequest({ authToken: TOKEN, signatureHeader, url, params: {}, rawBody: body.replace("true", "fals") }))
      .toBe(false)
    expect(verifyTwilioRequest({ authToken: TOKEN, signatureHeader, url, params: {} })).toBe(false)
    expect(verifyTwilioRequest({ authToken: TOKEN, signatureHeader: "RSOYDt4T1cUTdK1PDd93/VVr8B8=", url, params: {}, rawBody: body }))
      .toBe(false)
    expect(twilio.validateRequestWithBody(TOKEN, signatureHeader, url, body)).toBe(true)
  })

  it("empty JSON body: the SDK's expected value is the :443 form, and both forms verify", () => {
    const hash = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    const url = `${BASE}&bodySHA256=${hash}`
    for (const signatureHeader of ["rw/jVviOgicj2+kHZULvebnA4ag=", "Ldidvp12m26NI7eqEvxnEpkd9Hc="]) {
      expect(verifyTwilioRequest({ authToken: TOKEN, signatureHeader, url, params: {}, rawBody: "{}" })).toBe(true)
    }
    expect(computeTwilioSignature(TOKEN, url.replace("mycompany.com", "mycompany.com:443"), {})).toBe(
      "Ldidvp12m26NI7eqEvxnEpkd9Hc="
    )
  })

  it("URL candidates mirror twilio-node (as received, WHATWG-normalized, legacy querystring; each with/without port)", () => {
    expect(twilioUrlCandidates("https://Example.com/a?q='x'")).toEqual([
      "https://Example.com/a?q='x'",
      "https://Example.com:443/a?q='x'",
      "https://example.com/a?q=%27x%27",
      "https://example.com:443/a?q=%27x%27",
      "https://example.com/a?q='x'",
      "https://example.com:443/a?q='x'"
    ])
    expect(twilioUrlCandidates("not a url")).toEqual(["not a url"])
  })
})

// ---------------------------------------------------------------------------------------------------------

const paramsArb: fc.Arbitrary<Record<string, string | Array<string>>> = fc.dictionary(
  fc.string(),
  fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 4 })),
  { maxKeys: 8 }
)

const urlArb = fc
  .tuple(
    fc.webUrl({ withQueryParameters: true, validSchemes: ["http", "https"] }),
    fc.constantFrom("", ":443", ":80", ":8443"),
    fc.constantFrom("", "?q='x'", "?a=b&c=d e", "?x=%27")
  )
  .map(([url, port, extra]) => {
    const u = new URL(url)
    const query = u.search !== "" && extra !== "" ? u.search + "&" + extra.slice(1) : u.search + extra
    return `${u.protocol}//${u.host.replace(/:\d+$/, "")}${port}${u.pathname}${query}`
  })

describe("verifyTwilioRequest agrees with twilio-node", () => {
  it("accepts whatever twilio.validateRequest accepts (signed over any of its URL variants)", () => {
    let acceptedByTwilio = 0
    let runs = 0
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        urlArb,
        paramsArb,
        fc.nat(5),
        (token, url, params, variantIndex) => {
          const variants = [
            url,
            url.replace(/^(https?:\/\/[^/?#]*?)(:\d+)?(?=[/?#]|$)/, "$1"),
            new URL(url).toString(),
            url.replace(/^(https?:\/\/[^/?#]*?)(:\d+)?(?=[/?#]|$)/, (_, h: string) => h + (url.startsWith("https") ? ":443" : ":80"))
          ]
          const signedUrl = variants[variantIndex % variants.length]!
          const signatureHeader = twilio.getExpectedTwilioSignature(token, signedUrl, params)
          const theirs = twilio.validateRequest(token, signatureHeader, url, params)
          const ours = verifyTwilioRequest({ authToken: token, signatureHeader, url, params: params as FormParams })
          runs++
          if (theirs) acceptedByTwilio++
          if (theirs) expect(ours).toBe(true)
          expect(computeTwilioSignature(token, signedUrl, params)).toBe(signatureHeader)
        }
      ),
      { numRuns: 300 }
    )
    // not vacuous: most generated requests are ones twilio-node accepts
    expect(acceptedByTwilio).toBeGreaterThan(runs * 0.6)
  })

  it("rejects what twilio.validateRequest rejects: other params, other token, random signatures", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), urlArb, paramsArb, fc.string(), (token, url, params, junk) => {
        const signatureHeader = twilio.getExpectedTwilioSignature(token, url, params)
        const changed = { ...params, "\u0001extra": "1" }
        expect(twilio.validateRequest(token, signatureHeader, url, changed)).toBe(false)
        expect(verifyTwilioRequest({ authToken: token, signatureHeader, url, params: changed })).toBe(false)
        expect(verifyTwilioRequest({ authToken: token + "x", signatureHeader, url, params })).toBe(false)
        if (junk !== signatureHeader) {
          expect(twilio.validateRequest(token, junk, url, params)).toBe(false)
          expect(verifyTwilioRequest({ authToken: token, signatureHeader: junk, url, params })).toBe(false)
        }
      }),
      { numRuns: 300 }
    )
  })
})

// ---------------------------------------------------------------------------------------------------------

describe("verifyUrlSecret / verifyBasicAuth", () => {
  it("URL secret: exact match only; empty or absent fails closed", () => {
    const expected = Redacted.make("s3cr3t-path-token")
    expect(verifyUrlSecret({ expected, presented: "s3cr3t-path-token" })).toBe(true)
    expect(verifyUrlSecret({ expected, presented: "s3cr3t-path-toke" })).toBe(false)
    expect(verifyUrlSecret({ expected, presented: "s3cr3t-path-token " })).toBe(false)
    expect(verifyUrlSecret({ expected, presented: undefined })).toBe(false)
    expect(verifyUrlSecret({ expected: Redacted.make(""), presented: "" })).toBe(false)
  })

  it("basic auth: parses the header, checks user and password", () => {
    const header = (s: string) => "Basic " + Buffer.from(s).toString("base64")
    const pass = Redacted.make("p@ss:word")
    expect(verifyBasicAuth(header("sendgrid:p@ss:word"), "sendgrid", pass)).toBe(true)
    expect(verifyBasicAuth(header("sendgrid:p@ss:word").replace("Basic", "basic"), "sendgrid", "p@ss:word")).toBe(true)
    expect(verifyBasicAuth(header("sendgrid:wrong"), "sendgrid", pass)).toBe(false)
    expect(verifyBasicAuth(header("other:p@ss:word"), "sendgrid", pass)).toBe(false)
    expect(verifyBasicAuth(header("sendgridp@ss"), "sendgrid", pass)).toBe(false)
    expect(verifyBasicAuth("Bearer abc", "sendgrid", pass)).toBe(false)
    expect(verifyBasicAuth(undefined, "sendgrid", pass)).toBe(false)
    expect(verifyBasicAuth(header("sendgrid:"), "sendgrid", "")).toBe(false)
  })

  it("never throw on arbitrary input", () => {
    fc.assert(
      fc.property(fc.option(fc.string()), fc.string(), fc.string(), (presented, user, pass) => {
        expect(typeof verifyUrlSecret({ expected: Redacted.make(pass), presented: presented ?? undefined })).toBe("boolean")
        expect(typeof verifyBasicAuth(presented ?? undefined, user, pass)).toBe("boolean")
      })
    )
  })
})

describe("checkTimestamp", () => {
  const now = 1_614_265_330_000

  it("±5 minutes inclusive, in whole seconds", () => {
    const ts = now / 1000
    expect(checkTimestamp(ts, now)).toBe("ok")
    expect(checkTimestamp(ts - 300, now)).toBe("ok")
    expect(checkTimestamp(ts - 301, now)).toBe("too_old")
    expect(checkTimestamp(ts + 300, now)).toBe("ok")
    expect(checkTimestamp(ts + 301, now)).toBe("too_new")
    // now is floored to the second: 300.999 s later is still "300 s"
    expect(checkTimestamp(ts, now + 300_999)).toBe("ok")
    expect(checkTimestamp(ts, now + 301_000)).toBe("too_old")
    expect(checkTimestamp(ts, now, 10)).toBe("ok")
    expect(checkTimestamp(ts - 11, now, 10)).toBe("too_old")
  })

  it("fails closed on non-finite input and clamps a negative tolerance to 0", () => {
    expect(checkTimestamp(Number.NaN, now)).toBe("too_old")
    expect(checkTimestamp(Number.POSITIVE_INFINITY, now)).toBe("too_new")
    expect(checkTimestamp(Number.NEGATIVE_INFINITY, now)).toBe("too_old")
    expect(checkTimestamp(now / 1000, Number.NaN)).toBe("too_old")
    expect(checkTimestamp(now / 1000 + 1, now, -5)).toBe("too_new")
    expect(checkTimestamp(now / 1000, now, Number.NaN)).toBe("ok")
  })

  it("is total", () => {
    fc.assert(
      fc.property(fc.double(), fc.double(), fc.double(), (ts, n, tol) => {
        expect(["ok", "too_old", "too_new"]).toContain(checkTimestamp(ts, n, tol))
      })
    )
  })
})
