import * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { MediaItem } from "../../schema/Domain.ts"
import { checkFetchable } from "../http/OutboundUrlPolicy.ts"

/** Largest attachment an email adapter fetches from a mediaUrl. */
export const MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024

/** A file name from the URL's last path segment, or `attachment<n>`. */
export const attachmentName = (m: MediaItem, i: number): string => {
  try {
    const last = new URL(m.url).pathname.split("/").pop() ?? ""
    return /^[\w.-]{1,100}$/.test(last) ? last : `attachment${i + 1}`
  } catch {
    return `attachment${i + 1}`
  }
}

/**
 * Fetches an attachment for an email adapter that must upload the bytes: public addresses only
 * (unless `allowPrivate`), at most MAX_ATTACHMENT_BYTES counted while streaming, 10 s.
 */
export const fetchMedia = (http: HttpClient.HttpClient, m: MediaItem, allowPrivate: boolean) =>
  checkFetchable(m.url, allowPrivate).pipe(
    Effect.mapError((reason) => new Error(reason)),
    Effect.zipRight(HttpClient.filterStatusOk(http).get(m.url)),
    Effect.flatMap((res) =>
      res.stream.pipe(
        Stream.mapAccumEffect(0, (total, chunk: Uint8Array) =>
          total + chunk.byteLength > MAX_ATTACHMENT_BYTES
            ? Effect.fail(new Error("attachment too large"))
            : Effect.succeed([total + chunk.byteLength, chunk] as const)),
        Stream.runCollect
      )
    ),
    Effect.scoped,
    Effect.timeout("10 seconds"),
    Effect.map((chunks) => Buffer.concat([...chunks]))
  )
