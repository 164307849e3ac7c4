import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Effect from "effect/Effect"

/**
 * Reads a request body of at most `maxBytes` straight from the Node request.
 * An oversized body fails with `"too_large"` while Node discards the rest, so
 * the client still gets the caller's 413 (the platform's reader destroys the
 * socket instead and clients see a reset). A read error fails with
 * `"unreadable"`.
 */
export const readCappedBody = (
  request: HttpServerRequest.HttpServerRequest,
  maxBytes: number
): Effect.Effect<Buffer, "too_large" | "unreadable"> => {
  const declared = Number(request.headers["content-length"] ?? Number.NaN)
  if (Number.isFinite(declared) && declared > maxBytes) return Effect.fail("too_large")
  const req = NodeHttpServerRequest.toIncomingMessage(request)
  return Effect.async<Buffer, "too_large" | "unreadable">((resume) => {
    const chunks: Array<Buffer> = []
    let size = 0
    const cleanup = () => {
      req.off("data", onData)
      req.off("end", onEnd)
      req.off("error", onError)
    }
    function onData(chunk: Buffer) {
      size += chunk.length
      if (size > maxBytes) {
        cleanup()
        req.resume()
        resume(Effect.fail("too_large"))
      } else {
        chunks.push(chunk)
      }
    }
    function onEnd() {
      cleanup()
      resume(Effect.succeed(Buffer.concat(chunks, size)))
    }
    function onError() {
      cleanup()
      resume(Effect.fail("unreadable"))
    }
    req.on("data", onData)
    req.on("end", onEnd)
    req.on("error", onError)
    return Effect.sync(cleanup)
  })
}
