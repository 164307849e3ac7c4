import * as Effect from "effect/Effect"
import { multipartBoundary, trimToDelimiters, WebhookParseError } from "./parse.ts"

/** One file part of a multipart/form-data body, with its bytes. */
export interface MultipartFileBytes {
  readonly field: string
  readonly filename: string
  readonly contentType: string
  readonly bytes: Uint8Array
}

/**
 * The file parts of a multipart/form-data body whose field name passes `keep`,
 * with their bytes (`parseMultipart` keeps only their metadata). Meant to run
 * after `parseMultipart` accepted the body, which enforces the size and part
 * limits; fails with a `WebhookParseError` on an unreadable body.
 */
export const multipartFiles = (
  rawBody: Uint8Array,
  contentType: string,
  keep: (field: string) => boolean
): Effect.Effect<ReadonlyArray<MultipartFileBytes>, WebhookParseError> => {
  const boundary = multipartBoundary(contentType)
  if (boundary === undefined) {
    return Effect.fail(WebhookParseError.fromProblems("multipart body", ["content-type has no boundary"]))
  }
  const body = trimToDelimiters(Buffer.from(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength), boundary)
  return Effect.tryPromise({
    try: async () => {
      const form = await new Response(body, { headers: { "content-type": contentType } }).formData()
      const out: Array<MultipartFileBytes> = []
      for (const [field, value] of form) {
        if (typeof value === "string" || !keep(field)) continue
        out.push({
          field,
          filename: value.name,
          contentType: value.type === "" ? "application/octet-stream" : value.type,
          bytes: new Uint8Array(await value.arrayBuffer())
        })
      }
      return out
    },
    catch: () => WebhookParseError.fromProblems("multipart body", ["body is not valid multipart/form-data"])
  })
}
