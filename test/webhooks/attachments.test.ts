import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import {
  forwardedAttachments,
  MAX_INLINE_ATTACHMENT_BYTES,
  storedAttachments
} from "../../src/messaging/Inbound.ts"
import { multipartFiles } from "../../src/webhooks/multipartFiles.ts"
import { encodeMultipart } from "./support.ts"

const file = (filename: string, contentType: string, size: number) => ({
  filename,
  contentType,
  bytes: new Uint8Array(size).fill(7)
})

describe("email attachments for the orchestrator", () => {
  it("inlined as data: URLs up to 5 MiB per message, then listed as omitted:<filename>", () => {
    const small = file("a.png", "image/png", 3)
    const big = file("big.pdf", "application/pdf", MAX_INLINE_ATTACHMENT_BYTES - 4)
    const tooMuch = file("c.txt", "text/plain", 2)
    const fits = file("d.txt", "text/plain; charset=utf-8", 1)
    const out = forwardedAttachments([small, big, tooMuch, fits])
    expect(out[0]).toEqual({ url: `data:image/png;base64,${Buffer.from(small.bytes).toString("base64")}`, contentType: "image/png" })
    expect(out[1]?.url.startsWith("data:application/pdf;base64,")).toBe(true)
    expect(out[2]).toEqual({ url: "omitted:c.txt", contentType: "text/plain" })
    // the budget counts what was inlined: a later small file still fits
    expect(out[3]).toEqual({ url: `data:text/plain;base64,${Buffer.from(fits.bytes).toString("base64")}`, contentType: "text/plain" })
    expect(forwardedAttachments([file("x", "image/png", MAX_INLINE_ATTACHMENT_BYTES + 1)])).toEqual([
      { url: "omitted:x", contentType: "image/png" }
    ])
  })

  it("a content type that could break out of the data: URL becomes application/octet-stream", () => {
    const out = forwardedAttachments([file("x", "text/html,<script>", 1), file("y", "", 1)])
    expect(out.map((m) => m.contentType)).toEqual(["application/octet-stream", "application/octet-stream"])
    expect(out[0]?.url.startsWith("data:application/octet-stream;base64,")).toBe(true)
  })

  it("the messages row keeps cid:<filename> and the type, never the bytes", () => {
    expect(storedAttachments([file("report.pdf", "application/pdf", 10)])).toEqual([
      { url: "cid:report.pdf", contentType: "application/pdf" }
    ])
  })

  it.effect("multipartFiles returns the bytes of the selected file parts", () =>
    Effect.gen(function*() {
      const form = new FormData()
      form.set("text", "hello")
      form.set("attachment1", new Blob([new Uint8Array([1, 2, 3])], { type: "image/png" }), "one.png")
      form.set("other", new Blob([new Uint8Array([9])]), "skip.bin")
      const { body, contentType } = yield* Effect.promise(() => encodeMultipart(form))
      const files = yield* multipartFiles(body, contentType, (f) => f.startsWith("attachment"))
      expect(files).toEqual([{ field: "attachment1", filename: "one.png", contentType: "image/png", bytes: new Uint8Array([1, 2, 3]) }])
      const bad = yield* Effect.flip(multipartFiles(new TextEncoder().encode("junk"), "text/plain", () => true))
      expect(bad.code).toBe("invalid_webhook")
    }))
})
