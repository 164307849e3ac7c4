/**
 * Body parsers: x-www-form-urlencoded (`parseForm`) and multipart/form-data (`parseMultipart`, on
 * undici's own parser), including the undici quirks we work around or surface as typed errors.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fc from "fast-check"
import { multipartBoundary, parseForm, parseMultipart } from "../../src/webhooks/parse.ts"
import { encodeMultipart, expectError, outcome, rawMultipart } from "./support.ts"

describe("parseForm", () => {
  it("decodes +, percent escapes, repeated keys and empty values", () => {
    const parsed = parseForm("Body=Hello+world%21&To=%2B14155550100&MediaUrl=a&MediaUrl=b&MediaUrl=c&Empty=&Bare")
    expect(parsed).toEqual({
      Body: "Hello world!",
      To: "+14155550100",
      MediaUrl: ["a", "b", "c"],
      Empty: "",
      Bare: ""
    })
  })

  it("keeps malformed escapes literally, maps bad UTF-8 to U+FFFD, keeps a leading '?'", () => {
    expect(parseForm("a=%zz&b=%E2%82&c=%F0%9F%98%80")).toEqual({ a: "%zz", b: "\uFFFD", c: "😀" })
    expect(parseForm("?x=1")).toEqual({ "?x": "1" })
    expect(parseForm("")).toEqual({})
  })

  it("stores __proto__ and constructor as ordinary own fields", () => {
    const parsed = parseForm("__proto__=x&constructor=y&__proto__=z")
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype)
    expect(Object.keys(parsed)).toEqual(["__proto__", "constructor"])
    expect(Object.getOwnPropertyDescriptor(parsed, "__proto__")?.value).toEqual(["x", "z"])
  })

  it("round-trips anything URLSearchParams encodes", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string(), fc.string())), (pairs) => {
        const parsed = parseForm(new URLSearchParams(pairs).toString())
        const expected = new Map<string, Array<string>>()
        for (const [k, v] of pairs) expected.set(k, [...(expected.get(k) ?? []), v])
        expect(Object.keys(parsed).sort()).toEqual([...expected.keys()].sort())
        for (const [k, vs] of expected) {
          expect(Object.getOwnPropertyDescriptor(parsed, k)?.value).toEqual(vs.length === 1 ? vs[0] : vs)
        }
      })
    )
  })
})

describe("multipartBoundary", () => {
  it("accepts quoted and case-insensitive forms, rejects the rest", () => {
    expect(multipartBoundary("multipart/form-data; boundary=----abc")).toBe("----abc")
    expect(multipartBoundary("Multipart/Form-Data; charset=utf-8; BOUNDARY=\"a b:c\"")).toBe("a b:c")
    expect(multipartBoundary("multipart/form-data")).toBeUndefined()
    expect(multipartBoundary("multipart/form-data; boundary=")).toBeUndefined()
    expect(multipartBoundary("multipart/mixed; boundary=x")).toBeUndefined()
    expect(multipartBoundary("application/x-www-form-urlencoded; boundary=x")).toBeUndefined()
    expect(multipartBoundary("multipart/form-data; boundary=\u00e9")).toBeUndefined()
  })
})

describe("parseMultipart", () => {
  it.effect("FormData round trip: fields, files, first value wins", () =>
    Effect.gen(function* () {
      const form = new FormData()
      form.append("subject", "héllo ✓")
      form.append("subject", "second")
      form.append("__proto__", "own")
      form.append("attachment1", new Blob([new Uint8Array([1, 2, 3])], { type: "image/png" }), "pic.png")
      form.append("attachment2", new Blob(["x"]), "no-type.bin")
      const { body, contentType } = yield* Effect.promise(() => encodeMultipart(form))
      const parts = yield* parseMultipart(body, contentType)
      expect(parts.fields["subject"]).toBe("héllo ✓")
      expect(Object.getOwnPropertyDescriptor(parts.fields, "__proto__")?.value).toBe("own")
      expect(parts.files).toEqual([
        { field: "attachment1", filename: "pic.png", contentType: "image/png", size: 3 },
        // undici types a part without Content-Type as text/plain when it re-reads it
        { field: "attachment2", filename: "no-type.bin", contentType: expect.any(String), size: 1 }
      ])
    }))

  it.effect("a preamble and an epilogue are tolerated (undici alone rejects both)", () =>
    Effect.gen(function* () {
      const core = new TextDecoder().decode(
        rawMultipart("b0undary", [{ headers: ["Content-Disposition: form-data; name=\"a\""], body: "1" }])
      )
      const body = new TextEncoder().encode(`This is the preamble.\r\n${core}\r\nand an epilogue`)
      const parts = yield* parseMultipart(body, "multipart/form-data; boundary=b0undary")
      expect(parts.fields).toEqual({ a: "1" })
    }))

  it.effect("inlineFileFields exposes a file part's text as a field", () =>
    Effect.gen(function* () {
      const form = new FormData()
      form.append("email", new Blob(["From: a@b.c\r\n\r\nhi"], { type: "message/rfc822" }), "mail.eml")
      const { body, contentType } = yield* Effect.promise(() => encodeMultipart(form))
      const plain = yield* parseMultipart(body, contentType)
      expect(plain.fields["email"]).toBeUndefined()
      const inlined = yield* parseMultipart(body, contentType, { inlineFileFields: ["email"] })
      expect(inlined.fields["email"]).toBe("From: a@b.c\r\n\r\nhi")
    }))

  it("caps size and part count, and rejects non-multipart content types before parsing", async () => {
    const big = rawMultipart("b", [{ headers: ["Content-Disposition: form-data; name=\"a\""], body: "x".repeat(2000) }])
    expect((await expectError(parseMultipart(big, "multipart/form-data; boundary=b", { maxBytes: 1000 }))).problems)
      .toEqual(["body exceeds 1000 bytes"])
    const many = rawMultipart(
      "b",
      Array.from({ length: 5 }, (_, i) => ({ headers: [`Content-Disposition: form-data; name="f${i}"`], body: "v" }))
    )
    expect((await expectError(parseMultipart(many, "multipart/form-data; boundary=b", { maxParts: 4 }))).problems)
      .toEqual(["body has more than 4 parts"])
    for (const ct of ["application/x-www-form-urlencoded", "text/plain", "", "multipart/form-data"]) {
      expect((await expectError(parseMultipart(many, ct))).problems).toEqual([
        "content-type is not multipart/form-data with a boundary"
      ])
    }
  })

  it("undici quirks surface as typed errors, not throws", async () => {
    const ct = "multipart/form-data; boundary=b"
    const bad = (s: string) => expectError(parseMultipart(new TextEncoder().encode(s), ct))
    const invalid = ["body is not valid multipart/form-data"]
    // RFC 5987 filename* (alone or with filename) makes undici reject the whole body
    expect((await bad("--b\r\nContent-Disposition: form-data; name=\"a\"; filename*=UTF-8''caf%C3%A9.txt\r\n\r\nx\r\n--b--\r\n")).problems)
      .toEqual(invalid)
    // bare-LF line endings
    expect((await bad("--b\nContent-Disposition: form-data; name=\"a\"\n\nx\n--b--\n")).problems).toEqual(invalid)
    // unquoted name parameter
    expect((await bad("--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--b--\r\n")).problems).toEqual(invalid)
    // missing close delimiter
    expect((await bad("--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n")).problems).toEqual(invalid)
    // a boundary that the Headers class cannot carry (not a ByteString) is rejected by our own check
    expect((await expectError(parseMultipart(new Uint8Array(0), "multipart/form-data; boundary=\u2028"))).problems)
      .toEqual(["content-type is not multipart/form-data with a boundary"])
  })

  it("text parts are decoded as UTF-8 whatever their charset (undici ignores it)", async () => {
    const head = new TextEncoder().encode(
      "--b\r\nContent-Disposition: form-data; name=\"text\"\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\n"
    )
    const body = new Uint8Array([...head, 0x43, 0x61, 0x66, 0xe9, ...new TextEncoder().encode("\r\n--b--\r\n")])
    const result = await outcome(parseMultipart(body, "multipart/form-data; boundary=b"))
    expect(result._tag === "ok" && result.value.fields["text"]).toBe("Caf\uFFFD")
  })
})
