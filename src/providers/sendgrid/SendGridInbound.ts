import { createHash } from "node:crypto"
import * as Effect from "effect/Effect"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import {
  atPath,
  countFromString,
  type EmailAttachment,
  failAll,
  InboundEmail,
  jsonString,
  type MultipartFile,
  MultipartParts,
  oneWay,
  str,
  type WebhookParseError
} from "../../../schema/Webhooks.ts"
import type { DecodedInboundEmail, InboundAttachment } from "../EmailProvider.ts"
import { multipartFiles } from "../../webhooks/multipartFiles.ts"
import { decodeWith, firstValues, type FormInput, parseMultipart } from "../../webhooks/parse.ts"
import {
  decodeEncodedWords,
  firstAddress,
  htmlToText,
  parseHeaderBlock,
  splitHeaderBody,
  textPlainOf
} from "../../webhooks/mime.ts"

/** SendGrid Inbound Parse (multipart/form-data, parsed or raw mode) → our `InboundEmail`. */

const MAX_ATTACHMENTS = 1000

/** The SMTP envelope SendGrid posts as JSON in the `envelope` field. */
export const SendGridEnvelope = Schema.Struct({
  to: Schema.Array(str("must be a string")).annotations({ message: () => "must be an array of strings" }),
  from: Schema.optionalWith(str("must be a string"), { nullable: true, default: () => "" })
}).annotations({ message: () => "must be an object with to and from" })
export type SendGridEnvelope = typeof SendGridEnvelope.Type

const AttachmentInfoEntry = Schema.Struct({
  filename: Schema.optionalWith(str("must be a string"), { exact: true }),
  name: Schema.optionalWith(str("must be a string"), { exact: true }),
  type: Schema.optionalWith(str("must be a string"), { exact: true }),
  "content-id": Schema.optionalWith(str("must be a string"), { exact: true })
}).annotations({ message: () => "must be an object" })

const AttachmentInfo = Schema.Record({ key: Schema.String, value: AttachmentInfoEntry }).annotations({
  message: () => "must be an object"
})

/** The Inbound Parse fields we read (both modes). Unknown fields are tolerated. */
export const SendGridInboundFields = Schema.Struct({
  from: Schema.optionalWith(Schema.String, { exact: true }),
  to: Schema.optionalWith(Schema.String, { exact: true }),
  subject: Schema.optionalWith(Schema.String, { exact: true }),
  text: Schema.optionalWith(Schema.String, { exact: true }),
  html: Schema.optionalWith(Schema.String, { exact: true }),
  headers: Schema.optionalWith(Schema.String, { exact: true }),
  envelope: Schema.optionalWith(jsonString(SendGridEnvelope), { exact: true }),
  attachments: Schema.optionalWith(countFromString(MAX_ATTACHMENTS), { exact: true }),
  "attachment-info": Schema.optionalWith(jsonString(AttachmentInfo), { exact: true }),
  email: Schema.optionalWith(Schema.String, { exact: true }),
  rawEmail: Schema.optionalWith(Schema.String, { exact: true })
})
export type SendGridInboundFields = typeof SendGridInboundFields.Type

/**
 * SendGrid Inbound Parse parts → `InboundEmail`. Parsed mode reads `from`/`to`/`subject`/`text`
 * (falling back to `html` stripped of tags), `envelope`, `attachment-info` and the `attachmentN` files.
 * Raw mode (`email` or `rawEmail` field) reads From/To/Subject/Message-ID/Date from the MIME headers and
 * the first text/plain body part. One-way.
 */
export const SendGridInboundParse = Schema.transformOrFail(MultipartParts, InboundEmail, {
  strict: true,
  decode: (parts, options, ast) =>
    Effect.gen(function* () {
      const f = yield* ParseResult.decodeUnknown(SendGridInboundFields, { errors: "all" })(parts.fields, options)
      const raw = nonEmpty(f.email) ?? nonEmpty(f.rawEmail)
      const mime = raw === undefined ? undefined : splitHeaderBody(raw)
      const mimeHeaders = mime === undefined ? undefined : parseHeaderBlock(mime.head)
      const headers = mimeHeaders ?? parseHeaderBlock(f.headers ?? "")

      const from =
        firstAddress(mimeHeaders?.get("from")) ?? firstAddress(f.from) ?? firstAddress(f.envelope?.from)
      const to =
        f.envelope?.to.map((a) => firstAddress(a)).find((a) => a !== undefined) ??
        firstAddress(mimeHeaders?.get("to")) ??
        firstAddress(f.to)
      const issues: Array<ParseResult.ParseIssue> = []
      if (from === undefined) issues.push(atPath("from", ast, parts, "has no valid email address"))
      if (to === undefined) issues.push(atPath("to", ast, parts, "has no valid email address (envelope.to or to)"))
      if (from === undefined || to === undefined) return yield* failAll(ast, parts, issues)

      const subject =
        mimeHeaders !== undefined
          ? decodeEncodedWords(mimeHeaders.get("subject") ?? f.subject ?? "")
          : (f.subject ?? "")
      const text =
        mime !== undefined && mimeHeaders !== undefined
          ? (textPlainOf(mimeHeaders, mime.body, 0) ?? "")
          : (nonEmpty(f.text) ?? htmlToText(f.html ?? ""))
      const attachments = mime !== undefined ? [] : collectAttachments(parts.files, f)
      const messageId = nonEmpty(headers.get("message-id")?.trim())
      const email: InboundEmail = {
        provider: "sendgrid",
        providerMessageId:
          messageId ?? sha256Hex([from, to, subject, headers.get("date")?.trim() ?? "", text].join("\u0000")),
        from,
        to,
        subject,
        text,
        attachments
      }
      return email
    }),
  encode: (email, _, ast) => oneWay(ast, email)
})

const nonEmpty = (s: string | undefined): string | undefined => (s === undefined || s === "" ? undefined : s)

const sha256Hex = (s: string): string => createHash("sha256").update(s, "utf8").digest("hex")

const ATTACHMENT_FIELD = /^attachment([1-9]\d{0,5})$/

const collectAttachments = (
  files: ReadonlyArray<MultipartFile>,
  f: SendGridInboundFields
): Array<EmailAttachment> => {
  const info = f["attachment-info"] ?? {}
  const byIndex = new Map<number, { file?: MultipartFile; info?: typeof AttachmentInfoEntry.Type }>()
  for (const file of files) {
    const m = ATTACHMENT_FIELD.exec(file.field)
    if (m === null || byIndex.get(Number(m[1]))?.file !== undefined) continue
    byIndex.set(Number(m[1]), { ...byIndex.get(Number(m[1])), file })
  }
  for (const key of Object.keys(info)) {
    const m = ATTACHMENT_FIELD.exec(key)
    const entry = info[key]
    if (m === null || entry === undefined) continue
    byIndex.set(Number(m[1]), { ...byIndex.get(Number(m[1])), info: entry })
  }
  return [...byIndex.entries()]
    .sort(([a], [b]) => a - b)
    .slice(0, MAX_ATTACHMENTS)
    .map(([n, { file, info: i }]) => ({
      filename: nonEmpty(i?.filename) ?? nonEmpty(i?.name) ?? nonEmpty(file?.filename) ?? `attachment${n}`,
      contentType: nonEmpty(i?.type) ?? nonEmpty(file?.contentType) ?? "application/octet-stream",
      size: file?.size ?? 0
    }))
}

const SAFE_KEYS: ReadonlySet<string> = new Set([
  ...Object.keys(SendGridInboundFields.fields),
  ...Object.keys(SendGridEnvelope.fields),
  ...Object.keys(AttachmentInfoEntry.fields)
])
const safeSegment = (s: string): boolean => SAFE_KEYS.has(s) || /^attachment\d{1,6}$/.test(s)

/** SendGrid Inbound Parse parts (from `parseMultipart`) → `InboundEmail`. */
export const decodeSendGridInbound = (parts: MultipartParts): Effect.Effect<InboundEmail, WebhookParseError> =>
  decodeWith(SendGridInboundParse, "SendGrid inbound parse webhook", () => {
    const p: unknown = parts
    if (typeof p !== "object" || p === null) return { fields: {}, files: [] }
    const { fields, files } = p as { readonly fields?: unknown; readonly files?: unknown }
    return {
      fields: typeof fields === "object" && fields !== null ? firstValues(fields as FormInput) : {},
      files: Array.isArray(files) ? files : []
    }
  }, safeSegment).pipe(Effect.withSpan("SendGrid.decodeInbound"))

/** A file name safe to show as `cid:<name>`: no path, no control characters, bounded. */
const safeFileName = (name: string, fallback: string): string => {
  const base = name.split(/[\\/]/).pop() ?? ""
  const cleaned = base.replace(/[\u0000-\u001f\u007f"<>]/g, "").trim().slice(0, 200)
  return cleaned === "" ? fallback : cleaned
}

/** A whole Inbound Parse post (multipart bytes) → the email and its attachments' bytes. */
export const decodeInboundParse = (
  rawBody: Uint8Array,
  contentType: string,
  maxBytes: number
): Effect.Effect<DecodedInboundEmail, WebhookParseError> =>
  Effect.gen(function*() {
    const parts = yield* parseMultipart(rawBody, contentType, { maxBytes })
    const email = yield* decodeSendGridInbound(parts)
    const files = parts.files.some((f) => ATTACHMENT_FIELD.test(f.field))
      ? yield* multipartFiles(rawBody, contentType, (field) => ATTACHMENT_FIELD.test(field))
      : []
    const attachments: ReadonlyArray<InboundAttachment> = [...files]
      .sort((a, b) => Number(ATTACHMENT_FIELD.exec(a.field)?.[1]) - Number(ATTACHMENT_FIELD.exec(b.field)?.[1]))
      .map((f) => ({ filename: safeFileName(f.filename, f.field), contentType: f.contentType, bytes: f.bytes }))
    return { email, attachments }
  })
