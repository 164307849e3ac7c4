import { createHash } from "node:crypto"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as AST from "effect/SchemaAST"
import { AgentId } from "./Ids.ts"

/**
 * Inbound webhook payloads (provider → us) and the callback payload (us → orchestrator).
 *
 * Every provider schema decodes the provider's wire shape (form fields, multipart parts) into a small
 * normalized domain type. Decoding is total: every input either decodes or fails with a `ParseIssue`
 * whose messages never quote the input's values (see `WebhookParseError.fromIssue`).
 */

// ---------------------------------------------------------------------------------------------------------
// Error

/** A webhook body that could not be parsed or decoded. The message lists the problems, never the values. */
export class WebhookParseError extends Schema.TaggedError<WebhookParseError>()("WebhookParseError", {
  message: Schema.String,
  problems: Schema.Array(Schema.String)
}) {
  readonly code = "invalid_webhook"

  static fromProblems(what: string, problems: ReadonlyArray<string>): WebhookParseError {
    const listed = problems.slice(0, MAX_PROBLEMS)
    const more = problems.length > listed.length ? ` (+${problems.length - listed.length} more)` : ""
    return new WebhookParseError({
      message: `invalid ${what}: ${listed.length === 0 ? "unreadable" : listed.join("; ")}${more}`,
      problems: listed
    })
  }

  /** Formats a decode failure without echoing any input value (no PII in logs or responses). */
  static fromIssue(what: string, issue: ParseResult.ParseIssue): WebhookParseError {
    let formatted: ReadonlyArray<ParseResult.ArrayFormatterIssue>
    try {
      formatted = ParseResult.ArrayFormatter.formatIssueSync(issue)
    } catch {
      formatted = []
    }
    // An optional field that fails also reports "Expected undefined" for the absent branch: noise.
    const paths = (i: ParseResult.ArrayFormatterIssue) => i.path.map(String).join(".")
    const meaningful = formatted.filter(
      (i) => !(i.message.startsWith("Expected undefined") && formatted.some((o) => o !== i && paths(o) === paths(i)))
    )
    return WebhookParseError.fromProblems(what, [...new Set(meaningful.map(describeIssue))])
  }
}

const MAX_PROBLEMS = 10
const MAX_ATTACHMENTS = 1000
const MAX_HEADER_BLOCK = 256 * 1024

/**
 * Path segments we may print: our schemas' field names, array indexes and Twilio's numbered fields.
 * Anything else is a key the sender chose (e.g. inside `attachment-info`) and is masked.
 */
let safeKeys: ReadonlySet<string> | undefined
const safeSegment = (segment: PropertyKey): string => {
  safeKeys ??= new Set([
    ...Object.keys(TwilioMessageFields.fields),
    ...Object.keys(TwilioMessageStatusFields.fields),
    ...Object.keys(TwilioCallStatusFields.fields),
    ...Object.keys(SendGridInboundFields.fields),
    ...Object.keys(SendGridEnvelope.fields),
    ...Object.keys(AttachmentInfoEntry.fields),
    ...Object.keys(MultipartParts.fields),
    ...Object.keys(MultipartFile.fields)
  ])
  const s = String(segment)
  return safeKeys.has(s) || /^(\d{1,6}|Media(Url|ContentType)\d{1,2}|attachment\d{1,6})$/.test(s) ? s : "*"
}

const describeIssue = (issue: ParseResult.ArrayFormatterIssue): string => {
  const path = issue.path.map(safeSegment).join(".")
  return path === "" ? safeMessage(issue) : `${path} ${safeMessage(issue)}`
}

/**
 * Issue messages are either ours (value-free by construction) or Effect's defaults, which end in
 * `, actual <value>` or quote the value; those are cut down or replaced.
 */
const safeMessage = (issue: ParseResult.ArrayFormatterIssue): string => {
  switch (issue._tag) {
    case "Missing":
      return "is missing"
    case "Unexpected":
      return "is not allowed"
    case "Forbidden":
      return "could not be processed"
    default: {
      const actual = issue.message.indexOf(", actual ")
      const cut = (actual === -1 ? issue.message : issue.message.slice(0, actual)).slice(0, 200)
      return cut.includes("\"") || cut.includes("'") || cut.includes("\n") ? "is invalid" : cut
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Shared field schemas

/** Form fields as received: one string per name (repeated names already reduced to their first value). */
export const FormFields = Schema.Record({ key: Schema.String, value: Schema.String })
export type FormFields = typeof FormFields.Type

const str = (message: string) => Schema.String.annotations({ message: () => message })

/** Provider ids (`SM…`, `CA…`, `AC…`): safe as DB keys and in logs. */
const ProviderSid = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9_-]{1,64}$/, { message: () => "must be 1-64 letters, digits, underscores or hyphens" })
)

/** A phone number, short code, alphanumeric sender or channel address (`whatsapp:+1…`). */
const Address = Schema.String.pipe(
  Schema.minLength(1, { message: () => "must not be empty" }),
  Schema.maxLength(256, { message: () => "is too long" })
)

const countFromString = (max: number) =>
  Schema.transformOrFail(str("must be a string"), Schema.Number, {
    strict: true,
    decode: (s, _, ast) =>
      /^\d{1,9}$/.test(s) && Number(s) <= max
        ? ParseResult.succeed(Number(s))
        : ParseResult.fail(new ParseResult.Type(ast, s, `must be a whole number from 0 to ${max}`)),
    encode: (n) => ParseResult.succeed(String(n))
  })

/** `JSON.parse` then decode; the failure message never includes the JSON parser's excerpt of the input. */
const jsonString = <A, I>(schema: Schema.Schema<A, I>) =>
  Schema.compose(
    Schema.transformOrFail(str("must be a string"), Schema.Unknown, {
      strict: true,
      decode: (s, _, ast) => {
        try {
          return ParseResult.succeed(JSON.parse(s) as unknown)
        } catch {
          return ParseResult.fail(new ParseResult.Type(ast, s, "is not valid JSON"))
        }
      },
      encode: (u, _, ast) => {
        try {
          return ParseResult.succeed(JSON.stringify(u))
        } catch {
          return ParseResult.fail(new ParseResult.Type(ast, u, "cannot be encoded as JSON"))
        }
      }
    }),
    schema
  )

/** Drops empty optional fields (`ErrorCode=` etc.) so that they read as absent. */
const withoutEmpty = (fields: FormFields, names: ReadonlyArray<string>): FormFields => {
  const out: Record<string, string> = {}
  for (const key of Object.keys(fields)) {
    const value = fields[key]
    if (value === undefined || (value === "" && names.includes(key))) continue
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true })
  }
  return out
}

const atPath = (path: PropertyKey, ast: AST.AST, actual: unknown, message: string): ParseResult.ParseIssue =>
  new ParseResult.Pointer(path, actual, new ParseResult.Type(ast, actual, message))

const failAll = (ast: AST.AST, actual: unknown, issues: ReadonlyArray<ParseResult.ParseIssue>) => {
  const [first, ...rest] = issues
  return first === undefined
    ? ParseResult.fail(new ParseResult.Type(ast, actual, "is invalid"))
    : ParseResult.fail(rest.length === 0 ? first : new ParseResult.Composite(ast, actual, [first, ...rest]))
}

const oneWay = (ast: AST.AST, actual: unknown) =>
  ParseResult.fail(new ParseResult.Forbidden(ast, actual, "encoding back to the provider format is not supported"))

// ---------------------------------------------------------------------------------------------------------
// Twilio inbound message (SMS / MMS / WhatsApp)

export const InboundMedia = Schema.Struct({
  url: Schema.String,
  contentType: Schema.String
})
export type InboundMedia = typeof InboundMedia.Type

export const MessageChannel = Schema.Literal("sms", "whatsapp")
export type MessageChannel = typeof MessageChannel.Type

/** A normalized inbound text message. Addresses never carry the `whatsapp:` prefix; `channel` says which. */
export const InboundMessage = Schema.Struct({
  provider: Schema.Literal("twilio"),
  providerMessageId: Schema.String,
  channel: MessageChannel,
  from: Schema.String,
  to: Schema.String,
  body: Schema.String,
  media: Schema.Array(InboundMedia),
  profileName: Schema.optionalWith(Schema.String, { exact: true })
})
export type InboundMessage = typeof InboundMessage.Type

/** Twilio allows 10 attachments per message; anything above 20 is not a Twilio payload. */
const MAX_TWILIO_MEDIA = 20

/** The form fields of an inbound Twilio message that we read. Unknown fields are tolerated. */
export const TwilioMessageFields = Schema.Struct({
  MessageSid: ProviderSid,
  AccountSid: ProviderSid,
  From: Address,
  To: Address,
  Body: Schema.optionalWith(str("must be a string"), { default: () => "" }),
  NumMedia: Schema.optionalWith(countFromString(MAX_TWILIO_MEDIA), { exact: true }),
  ProfileName: Schema.optionalWith(str("must be a string"), { exact: true }),
  WaId: Schema.optionalWith(str("must be a string"), { exact: true })
})
export type TwilioMessageFields = typeof TwilioMessageFields.Type

const WHATSAPP_PREFIX = /^whatsapp:/i
const OTHER_CHANNEL_PREFIX = /^[A-Za-z][A-Za-z0-9+.-]*:/

const isHttpUrl = (s: string): boolean => {
  try {
    const u = new URL(s)
    return u.protocol === "https:" || u.protocol === "http:"
  } catch {
    return false
  }
}

/** Twilio inbound SMS/MMS/WhatsApp form fields → `InboundMessage`. One-way (encoding is forbidden). */
export const TwilioMessageWebhook = Schema.transformOrFail(FormFields, InboundMessage, {
  strict: true,
  decode: (fields, options, ast) =>
    Effect.gen(function* () {
      const known = yield* ParseResult.decodeUnknown(TwilioMessageFields, { errors: "all" })(
        withoutEmpty(fields, ["ProfileName", "WaId", "NumMedia"]),
        options
      )
      const issues: Array<ParseResult.ParseIssue> = []
      const fromWa = WHATSAPP_PREFIX.test(known.From)
      const toWa = WHATSAPP_PREFIX.test(known.To)
      if (fromWa !== toWa) issues.push(new ParseResult.Type(ast, fields, "From and To disagree on the channel"))
      const from = known.From.replace(WHATSAPP_PREFIX, "")
      const to = known.To.replace(WHATSAPP_PREFIX, "")
      if (from === "") issues.push(atPath("From", ast, fields, "has no address after the channel prefix"))
      if (to === "") issues.push(atPath("To", ast, fields, "has no address after the channel prefix"))
      if (!fromWa && OTHER_CHANNEL_PREFIX.test(from)) {
        issues.push(atPath("From", ast, fields, "uses an unsupported channel prefix"))
      }
      if (!toWa && OTHER_CHANNEL_PREFIX.test(to)) {
        issues.push(atPath("To", ast, fields, "uses an unsupported channel prefix"))
      }
      const media: Array<InboundMedia> = []
      for (let i = 0; i < (known.NumMedia ?? 0); i++) {
        const url = fields[`MediaUrl${i}`]
        const contentType = fields[`MediaContentType${i}`]
        if (url === undefined || url === "") {
          issues.push(atPath(`MediaUrl${i}`, ast, fields, "is missing (NumMedia counts it)"))
        } else if (!isHttpUrl(url)) {
          issues.push(atPath(`MediaUrl${i}`, ast, fields, "must be an http(s) URL"))
        } else {
          media.push({
            url,
            contentType: contentType === undefined || contentType === "" ? "application/octet-stream" : contentType
          })
        }
      }
      if (issues.length > 0) return yield* failAll(ast, fields, issues)
      const message: InboundMessage = {
        provider: "twilio",
        providerMessageId: known.MessageSid,
        channel: fromWa ? "whatsapp" : "sms",
        from,
        to,
        body: known.Body,
        media,
        ...(known.ProfileName !== undefined ? { profileName: known.ProfileName } : {})
      }
      return message
    }),
  encode: (message, _, ast) => oneWay(ast, message)
})

// ---------------------------------------------------------------------------------------------------------
// Twilio status callbacks (messages and calls)

/**
 * A string restricted to `values`. Decoding failures say `message` (a literal union's own message
 * annotation is not used by the formatter, and its per-member messages would quote the input).
 */
const oneOf = <const L extends string>(values: ReadonlyArray<L>, message: string) =>
  Schema.String.pipe(Schema.filter((s): s is L => (values as ReadonlyArray<string>).includes(s), { message: () => message }))

/** Twilio `MessageStatus` values (twilio-node `MessageStatus` type). */
export const MESSAGE_STATUSES = [
  "queued",
  "sending",
  "sent",
  "failed",
  "delivered",
  "undelivered",
  "receiving",
  "received",
  "accepted",
  "scheduled",
  "read",
  "partially_delivered",
  "canceled"
] as const
export const MessageStatus = Schema.Literal(...MESSAGE_STATUSES)
export type MessageStatus = typeof MessageStatus.Type

/** Twilio `CallStatus` values (twilio-node `CallStatus` type). */
export const CALL_STATUSES = [
  "queued",
  "ringing",
  "in-progress",
  "completed",
  "busy",
  "failed",
  "no-answer",
  "canceled"
] as const
export const CallStatus = Schema.Literal(...CALL_STATUSES)
export type CallStatus = typeof CallStatus.Type

const ErrorCode = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9_.-]{1,32}$/, { message: () => "must be a short error code" })
)

export const MessageStatusUpdate = Schema.Struct({
  provider: Schema.Literal("twilio"),
  kind: Schema.Literal("message"),
  providerId: Schema.String,
  status: MessageStatus,
  errorCode: Schema.optionalWith(Schema.String, { exact: true })
})
export type MessageStatusUpdate = typeof MessageStatusUpdate.Type

export const CallStatusUpdate = Schema.Struct({
  provider: Schema.Literal("twilio"),
  kind: Schema.Literal("call"),
  providerId: Schema.String,
  status: CallStatus,
  errorCode: Schema.optionalWith(Schema.String, { exact: true }),
  durationSeconds: Schema.optionalWith(Schema.Number, { exact: true })
})
export type CallStatusUpdate = typeof CallStatusUpdate.Type

/** A normalized delivery/call status change; `providerId` is the MessageSid or CallSid. */
export const StatusUpdate = Schema.Union(MessageStatusUpdate, CallStatusUpdate)
export type StatusUpdate = typeof StatusUpdate.Type

export const TwilioMessageStatusFields = Schema.Struct({
  MessageSid: ProviderSid,
  MessageStatus: oneOf(MESSAGE_STATUSES, "is not a known message status"),
  ErrorCode: Schema.optionalWith(ErrorCode, { exact: true })
})

export const TwilioCallStatusFields = Schema.Struct({
  CallSid: ProviderSid,
  CallStatus: oneOf(CALL_STATUSES, "is not a known call status"),
  ErrorCode: Schema.optionalWith(ErrorCode, { exact: true }),
  CallDuration: Schema.optionalWith(countFromString(1_000_000_000), { exact: true })
})

/**
 * Twilio status callback form fields → `StatusUpdate`. A message callback carries `MessageStatus`
 * (older posts: `SmsStatus`/`SmsSid`), a call callback `CallStatus`. One-way.
 */
export const TwilioStatusWebhook = Schema.transformOrFail(FormFields, StatusUpdate, {
  strict: true,
  decode: (raw, options, ast) =>
    Effect.gen(function* () {
      const fields = withoutEmpty(raw, ["ErrorCode", "CallDuration", "MessageStatus", "SmsStatus", "SmsSid"])
      const messageStatus = fields["MessageStatus"] ?? fields["SmsStatus"]
      const callStatus = fields["CallStatus"]
      if (messageStatus !== undefined && callStatus !== undefined) {
        return yield* ParseResult.fail(
          new ParseResult.Type(ast, raw, "has both MessageStatus and CallStatus; cannot tell message from call")
        )
      }
      if (messageStatus !== undefined) {
        const messageSid = fields["MessageSid"] ?? fields["SmsSid"]
        const known = yield* ParseResult.decodeUnknown(TwilioMessageStatusFields, { errors: "all" })(
          {
            ...fields,
            MessageStatus: messageStatus,
            ...(messageSid !== undefined ? { MessageSid: messageSid } : {})
          },
          options
        )
        const update: StatusUpdate = {
          provider: "twilio",
          kind: "message",
          providerId: known.MessageSid,
          status: known.MessageStatus,
          ...(known.ErrorCode !== undefined ? { errorCode: known.ErrorCode } : {})
        }
        return update
      }
      if (callStatus !== undefined) {
        const known = yield* ParseResult.decodeUnknown(TwilioCallStatusFields, { errors: "all" })(fields, options)
        const update: StatusUpdate = {
          provider: "twilio",
          kind: "call",
          providerId: known.CallSid,
          status: known.CallStatus,
          ...(known.ErrorCode !== undefined ? { errorCode: known.ErrorCode } : {}),
          ...(known.CallDuration !== undefined ? { durationSeconds: known.CallDuration } : {})
        }
        return update
      }
      return yield* ParseResult.fail(
        atPath("MessageStatus", ast, raw, "is missing (and so is CallStatus)")
      )
    }),
  encode: (update, _, ast) => oneWay(ast, update)
})

// ---------------------------------------------------------------------------------------------------------
// SendGrid Inbound Parse (multipart/form-data)

/** File metadata of one multipart part that carried a filename (bytes are not kept). */
export const MultipartFile = Schema.Struct({
  field: Schema.String,
  filename: Schema.String,
  contentType: Schema.String,
  size: Schema.Number
})
export type MultipartFile = typeof MultipartFile.Type

/** A parsed multipart/form-data body: text fields (first value per name) and file metadata. */
export const MultipartParts = Schema.Struct({
  fields: FormFields,
  files: Schema.Array(MultipartFile)
})
export type MultipartParts = typeof MultipartParts.Type

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

export const EmailAttachment = Schema.Struct({
  filename: Schema.String,
  contentType: Schema.String,
  size: Schema.Number
})
export type EmailAttachment = typeof EmailAttachment.Type

/** A normalized inbound email. `from` is a bare address; `to` is the first envelope recipient. */
export const InboundEmail = Schema.Struct({
  provider: Schema.Literal("sendgrid"),
  providerMessageId: Schema.String,
  from: Schema.String,
  to: Schema.String,
  subject: Schema.String,
  text: Schema.String,
  attachments: Schema.Array(EmailAttachment)
})
export type InboundEmail = typeof InboundEmail.Type

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

// --- addresses --------------------------------------------------------------------------------------------

/** Splits an address list on commas outside quotes, angle brackets and comments. */
const splitAddressList = (value: string): Array<string> => {
  const out: Array<string> = []
  let current = ""
  let quoted = false
  let angle = 0
  let comment = 0
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!
    if (quoted) {
      if (c === "\\" && i + 1 < value.length) {
        current += c + value[++i]
        continue
      }
      if (c === "\"") quoted = false
    } else if (c === "\"") quoted = true
    else if (c === "(") comment++
    else if (c === ")" && comment > 0) comment--
    else if (c === "<" && comment === 0) angle++
    else if (c === ">" && angle > 0) angle--
    else if (c === "," && angle === 0 && comment === 0) {
      out.push(current)
      current = ""
      continue
    }
    current += c
  }
  out.push(current)
  return out
}

const BARE_ADDRESS = /^[^\s@<>(),;:"\\[\]]+@[^\s@<>(),;:"\\[\]]+$/

/** `"Alice" <alice@example.com>` → `alice@example.com`; undefined when there is no plausible address. */
const bareAddress = (mailbox: string): string | undefined => {
  const open = mailbox.lastIndexOf("<")
  const close = mailbox.indexOf(">", open + 1)
  const candidate = (open !== -1 && close !== -1 ? mailbox.slice(open + 1, close) : mailbox.replace(/\([^()]*\)/g, ""))
    .trim()
    .replace(/^mailto:/i, "")
  return candidate.length <= 320 && BARE_ADDRESS.test(candidate) ? candidate : undefined
}

const firstAddress = (value: string | undefined): string | undefined => {
  if (value === undefined || value.length > 64 * 1024) return undefined
  for (const mailbox of splitAddressList(value)) {
    const address = bareAddress(mailbox)
    if (address !== undefined) return address
  }
  return undefined
}

// --- MIME (raw mode) --------------------------------------------------------------------------------------

const splitHeaderBody = (raw: string): { head: string; body: string } => {
  if (raw.startsWith("\r\n")) return { head: "", body: raw.slice(2) }
  if (raw.startsWith("\n")) return { head: "", body: raw.slice(1) }
  const crlf = raw.indexOf("\r\n\r\n")
  const lf = raw.indexOf("\n\n")
  if (crlf === -1 && lf === -1) return { head: raw, body: "" }
  return crlf !== -1 && (lf === -1 || crlf < lf)
    ? { head: raw.slice(0, crlf), body: raw.slice(crlf + 4) }
    : { head: raw.slice(0, lf), body: raw.slice(lf + 2) }
}

/** Header block → lowercase name → first value (continuation lines unfolded). */
const parseHeaderBlock = (head: string): Map<string, string> => {
  const headers = new Map<string, string>()
  let name: string | undefined
  let value = ""
  const flush = () => {
    if (name !== undefined && !headers.has(name)) headers.set(name, value.trim())
  }
  for (const line of head.slice(0, MAX_HEADER_BLOCK).split(/\r?\n/)) {
    if ((line.startsWith(" ") || line.startsWith("\t")) && name !== undefined) {
      value += " " + line.trim()
      continue
    }
    flush()
    const colon = line.indexOf(":")
    if (colon <= 0) {
      name = undefined
      continue
    }
    name = line.slice(0, colon).trim().toLowerCase()
    value = line.slice(colon + 1)
  }
  flush()
  return headers
}

const parseContentType = (value: string): { type: string; params: Map<string, string> } => {
  const semi = value.indexOf(";")
  const type = (semi === -1 ? value : value.slice(0, semi)).trim().toLowerCase()
  const params = new Map<string, string>()
  if (semi !== -1) {
    const re = /;\s*([^=;\s]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)/g
    for (const m of value.slice(semi).matchAll(re)) {
      const key = m[1]!.toLowerCase()
      const raw = m[2]!.trim()
      const v = raw.startsWith("\"") ? raw.slice(1, -1).replace(/\\(.)/g, "$1") : raw
      if (!params.has(key)) params.set(key, v)
    }
  }
  return { type, params }
}

const decodeBytes = (bytes: Uint8Array, charset: string | undefined): string => {
  const label = (charset ?? "utf-8").split("*")[0]!.trim() || "utf-8"
  try {
    return new TextDecoder(label).decode(bytes)
  } catch {
    return new TextDecoder("utf-8").decode(bytes)
  }
}

/** Quoted-printable (or RFC 2047 "Q" with `underscore`) → bytes. Characters above 0xFF pass as UTF-8. */
const quotedPrintableBytes = (s: string, underscore: boolean): Uint8Array => {
  let out = new Uint8Array(s.length + 16)
  let n = 0
  const push = (b: number) => {
    if (n === out.length) {
      const grown = new Uint8Array(out.length * 2)
      grown.set(out)
      out = grown
    }
    out[n++] = b
  }
  const isHex = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102)
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i)
    if (code === 61 /* = */) {
      if (i + 2 < s.length && isHex(s.charCodeAt(i + 1)) && isHex(s.charCodeAt(i + 2))) {
        push(parseInt(s.slice(i + 1, i + 3), 16))
        i += 2
        continue
      }
      if (s.startsWith("\r\n", i + 1)) {
        i += 2
        continue
      }
      if (s[i + 1] === "\n") {
        i += 1
        continue
      }
    }
    if (underscore && code === 95 /* _ */) {
      push(0x20)
      continue
    }
    if (code < 0x100) {
      push(code)
      continue
    }
    const point = s.codePointAt(i) ?? code
    const char = String.fromCodePoint(point)
    for (const b of Buffer.from(char, "utf8")) push(b)
    i += char.length - 1
  }
  return out.subarray(0, n)
}

/** RFC 2047 encoded words (`=?UTF-8?B?...?=`) in a header value → text. */
const decodeEncodedWords = (value: string): string =>
  value
    .replace(/(\?=)\s+(?==\?)/g, "$1")
    .replace(/=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g, (_, charset: string, encoding: string, text: string) =>
      decodeBytes(
        encoding.toUpperCase() === "B" ? Buffer.from(text, "base64") : quotedPrintableBytes(text, true),
        charset
      )
    )

const decodeBody = (body: string, headers: Map<string, string>, charset: string | undefined): string => {
  const encoding = (headers.get("content-transfer-encoding") ?? "").trim().toLowerCase()
  if (encoding === "base64") return decodeBytes(Buffer.from(body.replace(/\s+/g, ""), "base64"), charset)
  if (encoding === "quoted-printable") return decodeBytes(quotedPrintableBytes(body, false), charset)
  return body
}

/** The first non-attachment text/plain part, looking into nested multiparts up to depth 4. */
const textPlainOf = (headers: Map<string, string>, body: string, depth: number): string | undefined => {
  const ct = parseContentType(headers.get("content-type") ?? "text/plain")
  if ((headers.get("content-disposition") ?? "").trim().toLowerCase().startsWith("attachment")) return undefined
  if (ct.type === "text/plain") return decodeBody(body, headers, ct.params.get("charset"))
  const boundary = ct.params.get("boundary")
  if (!ct.type.startsWith("multipart/") || boundary === undefined || boundary === "" || depth >= 4) return undefined
  const delimiter = `--${boundary}`
  let at = body.indexOf(delimiter)
  while (at !== -1) {
    const lineEnd = body.indexOf("\n", at)
    if (body.startsWith("--", at + delimiter.length) || lineEnd === -1) return undefined
    const next = body.indexOf(delimiter, lineEnd)
    const content = (next === -1 ? body.slice(lineEnd + 1) : body.slice(lineEnd + 1, next)).replace(/\r?\n$/, "")
    const part = splitHeaderBody(content)
    const found = textPlainOf(parseHeaderBlock(part.head), part.body, depth + 1)
    if (found !== undefined) return found
    at = next
  }
  return undefined
}

// --- HTML fallback ----------------------------------------------------------------------------------------

const ENTITIES: Readonly<Record<string, string>> = { amp: "&", lt: "<", gt: ">", quot: "\"", apos: "'", nbsp: " " }

/** A linear-time, tag-stripping HTML → text used only when an email has no text part. */
export const htmlToText = (html: string): string => {
  let out = ""
  let i = 0
  let lower: string | undefined
  while (i < html.length) {
    const lt = html.indexOf("<", i)
    if (lt === -1) {
      out += html.slice(i)
      break
    }
    out += html.slice(i, lt)
    const gt = html.indexOf(">", lt + 1)
    if (gt === -1) break
    const tag = /^<\/?\s*([a-zA-Z0-9]+)/.exec(html.slice(lt, Math.min(gt + 1, lt + 40)))?.[1]?.toLowerCase()
    const closing = html[lt + 1] === "/"
    if (!closing && (tag === "script" || tag === "style")) {
      lower ??= html.toLowerCase()
      const end = lower.indexOf(`</${tag}`, gt + 1)
      const endGt = end === -1 ? -1 : html.indexOf(">", end)
      i = endGt === -1 ? html.length : endGt + 1
      continue
    }
    if (tag === "br" || tag === "p" || tag === "div" || tag === "li" || tag === "tr" || /^h[1-6]$/.test(tag ?? "")) {
      out += "\n"
    }
    i = gt + 1
  }
  return out
    .replace(/&(#x[0-9a-fA-F]{1,6}|#\d{1,7}|[a-zA-Z]{2,6});/g, (whole, e: string) => {
      if (e.startsWith("#")) {
        const code = e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)
        return code > 0 && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff) ? String.fromCodePoint(code) : whole
      }
      return ENTITIES[e.toLowerCase()] ?? whole
    })
    .split("\n")
    .map((line) => line.trimEnd())
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim()
}

// ---------------------------------------------------------------------------------------------------------
// Callback to the orchestrator

/** An ISO-8601 UTC/offset timestamp such as `2026-11-03T12:00:00.000Z`. */
export const IsoTimestamp = Schema.String.pipe(
  Schema.pattern(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/, {
    message: () => "must be an ISO-8601 timestamp"
  }),
  Schema.filter((s) => !Number.isNaN(Date.parse(s)), { message: () => "must be a valid date" })
)

export const CallbackChannel = Schema.Literal("sms", "whatsapp", "email")
export type CallbackChannel = typeof CallbackChannel.Type

/** What we POST to the orchestrator (Standard Webhooks-signed) when an agent receives a message. */
export const CallbackPayload = Schema.Struct({
  type: Schema.Literal("message.received"),
  agentId: AgentId,
  channel: CallbackChannel,
  from: Schema.String,
  to: Schema.String,
  body: Schema.String,
  subject: Schema.optionalWith(Schema.String, { exact: true }),
  media: Schema.Array(InboundMedia),
  providerMessageId: Schema.String,
  receivedAt: IsoTimestamp,
  /** Set when the sender is another agent on this server (agent-to-agent traffic). */
  fromAgentId: Schema.optionalWith(AgentId, { exact: true })
})
export type CallbackPayload = typeof CallbackPayload.Type

export interface CallbackContext {
  readonly agentId: AgentId
  readonly receivedAt: DateTime.Utc
  readonly fromAgentId?: AgentId
}

/** The callback for an inbound SMS/WhatsApp message. */
export const callbackFromMessage = (message: InboundMessage, ctx: CallbackContext): CallbackPayload => ({
  type: "message.received",
  agentId: ctx.agentId,
  channel: message.channel,
  from: message.from,
  to: message.to,
  body: message.body,
  media: message.media,
  providerMessageId: message.providerMessageId,
  receivedAt: DateTime.formatIso(ctx.receivedAt),
  ...(ctx.fromAgentId !== undefined ? { fromAgentId: ctx.fromAgentId } : {})
})

/** The callback for an inbound email (attachments are not forwarded; `media` is empty). */
export const callbackFromEmail = (email: InboundEmail, ctx: CallbackContext): CallbackPayload => ({
  type: "message.received",
  agentId: ctx.agentId,
  channel: "email",
  from: email.from,
  to: email.to,
  body: email.text,
  subject: email.subject,
  media: [],
  providerMessageId: email.providerMessageId,
  receivedAt: DateTime.formatIso(ctx.receivedAt),
  ...(ctx.fromAgentId !== undefined ? { fromAgentId: ctx.fromAgentId } : {})
})
