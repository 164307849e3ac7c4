import * as Effect from "effect/Effect"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { type FormFields, type MultipartFile, type MultipartParts, WebhookParseError } from "../../schema/Webhooks.ts"

/**
 * Body parsing and decoding for inbound webhooks. Everything here is total: malformed input ends in a
 * typed `WebhookParseError` (code `invalid_webhook`), never in a throw, a rejection or a defect.
 */

export { WebhookParseError }

/** Sets an own property even for names such as `__proto__` (plain assignment would change the prototype). */
const defineOwn = <V>(target: Record<string, V>, key: string, value: V): void => {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}

const hasOwn = (target: object, key: string): boolean => Object.prototype.hasOwnProperty.call(target, key)

// ---------------------------------------------------------------------------------------------------------
// application/x-www-form-urlencoded

/**
 * Parses an `application/x-www-form-urlencoded` body (WHATWG rules: `+` is a space, bad percent escapes
 * are kept literally, invalid UTF-8 becomes U+FFFD). A name that occurs more than once maps to an array of
 * its values in order. The result is exactly what form-signing schemes compute their signature over.
 */
export const parseForm = (rawBody: string): Record<string, string | Array<string>> => {
  const out: Record<string, string | Array<string>> = {}
  if (typeof rawBody !== "string") return out
  // The leading "&" stops URLSearchParams from dropping a leading "?" of the body.
  for (const [key, value] of new URLSearchParams("&" + rawBody)) {
    const previous = hasOwn(out, key) ? out[key] : undefined
    if (previous === undefined) defineOwn(out, key, value)
    else if (typeof previous === "string") defineOwn(out, key, [previous, value])
    else previous.push(value)
  }
  return out
}

// ---------------------------------------------------------------------------------------------------------
// multipart/form-data

export interface MultipartOptions {
  /** Reject bodies larger than this many bytes before parsing (default 32 MiB). */
  readonly maxBytes?: number
  /** Reject bodies with more parts than this (default 1000). */
  readonly maxParts?: number
  /**
   * File parts whose text should also be exposed as a field (first value wins), e.g. `["email"]` when a
   * sender posts the raw MIME message as a file rather than a text field. Default: none.
   */
  readonly inlineFileFields?: ReadonlyArray<string>
}

export const DEFAULT_MULTIPART_MAX_BYTES = 32 * 1024 * 1024
export const DEFAULT_MULTIPART_MAX_PARTS = 1000

/** The boundary of a `multipart/form-data` content type, or undefined when it is not one or has none. */
export const multipartBoundary = (contentType: string): string | undefined => {
  if (typeof contentType !== "string" || contentType.length > 1024) return undefined
  const semi = contentType.indexOf(";")
  if (semi === -1 || contentType.slice(0, semi).trim().toLowerCase() !== "multipart/form-data") return undefined
  const m = /;\s*boundary\s*=\s*(?:"([^"]{1,200})"|([^";\s]{1,200}))\s*(?:;|$)/i.exec(contentType.slice(semi))
  const boundary = m?.[1] ?? m?.[2]
  return boundary !== undefined && /^[\x20-\x7e]+$/.test(boundary) ? boundary : undefined
}

/**
 * undici rejects a preamble before the first delimiter and an epilogue after the close delimiter, both of
 * which RFC 2046 allows: cut them off.
 */
export const trimToDelimiters = (body: Buffer, boundary: string): Buffer => {
  const delimiter = Buffer.from(`--${boundary}`, "latin1")
  const first = body.indexOf(delimiter)
  if (first === -1) return body
  const close = body.lastIndexOf(Buffer.from(`--${boundary}--`, "latin1"))
  const end = close >= first ? close + delimiter.length + 2 : body.length
  return first === 0 && end === body.length ? body : body.subarray(first, end)
}

type ParsedForm = { readonly _tag: "ok"; readonly parts: MultipartParts } | { readonly _tag: "tooManyParts" }

const collectParts = async (form: FormData, maxParts: number, inline: ReadonlyArray<string>): Promise<ParsedForm> => {
  const fields: Record<string, string> = {}
  const files: Array<MultipartFile> = []
  let count = 0
  for (const [field, value] of form) {
    if (++count > maxParts) return { _tag: "tooManyParts" }
    if (typeof value === "string") {
      if (!hasOwn(fields, field)) defineOwn(fields, field, value)
      continue
    }
    files.push({
      field,
      filename: value.name,
      contentType: value.type === "" ? "application/octet-stream" : value.type,
      size: value.size
    })
    if (inline.includes(field) && !hasOwn(fields, field)) defineOwn(fields, field, await value.text())
  }
  return { _tag: "ok", parts: { fields, files } }
}

/**
 * Parses a `multipart/form-data` body with the runtime's own parser (undici's `Response.formData()`).
 * Text parts become `fields` (first value per name); parts with a filename become `files` metadata.
 */
export const parseMultipart = Effect.fn("Webhooks.parseMultipart")(function* (
  rawBody: Uint8Array,
  contentType: string,
  options?: MultipartOptions
) {
  const what = "multipart body"
  const maxBytes = options?.maxBytes ?? DEFAULT_MULTIPART_MAX_BYTES
  const maxParts = options?.maxParts ?? DEFAULT_MULTIPART_MAX_PARTS
  if (!(rawBody instanceof Uint8Array)) {
    return yield* Effect.fail(WebhookParseError.fromProblems(what, ["body is not bytes"]))
  }
  if (rawBody.byteLength > maxBytes) {
    return yield* Effect.fail(WebhookParseError.fromProblems(what, [`body exceeds ${maxBytes} bytes`]))
  }
  const boundary = multipartBoundary(contentType)
  if (boundary === undefined) {
    return yield* Effect.fail(
      WebhookParseError.fromProblems(what, ["content-type is not multipart/form-data with a boundary"])
    )
  }
  const body = trimToDelimiters(Buffer.from(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength), boundary)
  const parsed = yield* Effect.tryPromise({
    try: async () => {
      const form = await new Response(body, { headers: { "content-type": contentType } }).formData()
      return await collectParts(form, maxParts, options?.inlineFileFields ?? [])
    },
    catch: () => WebhookParseError.fromProblems(what, ["body is not valid multipart/form-data"])
  })
  if (parsed._tag === "tooManyParts") {
    return yield* Effect.fail(WebhookParseError.fromProblems(what, [`body has more than ${maxParts} parts`]))
  }
  return parsed.parts
})

// ---------------------------------------------------------------------------------------------------------
// Decoders

/** Form fields as parsed (repeated names as arrays) or as a plain record. */
export type FormInput = Readonly<Record<string, string | ReadonlyArray<string>>>

/** Reduces a parsed form to one string per name (the first), ignoring anything that is not a string. */
export const firstValues = (input: FormInput): FormFields => {
  const out: Record<string, string> = {}
  if (typeof input !== "object" || input === null) return out
  for (const key of Object.keys(input)) {
    const value: unknown = input[key]
    const first: unknown = Array.isArray(value)
      ? (value as ReadonlyArray<unknown>).find((v) => typeof v === "string")
      : value
    if (typeof first === "string") defineOwn(out, key, first)
  }
  return out
}

/** Marker used when a decoder hits a bug instead of bad input; tests assert it never shows up. */
export const INTERNAL_PROBLEM = "could not be processed (internal error)"

/**
 * Decodes `input()` with a vendor's schema into our types; every failure is a `WebhookParseError` whose
 * message prints only field names `vendorSafe` allows (never values).
 */
export const decodeWith = <A, I>(
  schema: Schema.Schema<A, I>,
  what: string,
  input: () => unknown,
  vendorSafe?: (segment: string) => boolean
): Effect.Effect<A, WebhookParseError> =>
  Effect.try({
    try: input,
    catch: () => WebhookParseError.fromProblems(what, ["input is not readable"])
  }).pipe(
    Effect.flatMap((value) =>
      Schema.decodeUnknown(schema, { errors: "all" })(value).pipe(
        Effect.mapError((e: ParseResult.ParseError) => WebhookParseError.fromIssue(what, e.issue, vendorSafe))
      )
    ),
    // Decoding is meant to be total; should a bug throw anyway, the caller still gets a typed 400.
    Effect.catchAllDefect(() => Effect.fail(WebhookParseError.fromProblems(what, [INTERNAL_PROBLEM])))
  )
