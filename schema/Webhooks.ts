import * as DateTime from "effect/DateTime"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as AST from "effect/SchemaAST"
import { AgentId } from "./Ids.ts"

/**
 * Inbound webhook payloads (provider → us) and the callback payload (us → orchestrator).
 *
 * Vendors' wire formats live with their adapters (`src/providers/<vendor>/`) and decode into the small
 * normalized domain types here, using the decoding toolkit below. Decoding is total: every input either decodes or fails with a `ParseIssue`
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
  static fromIssue(
    what: string,
    issue: ParseResult.ParseIssue,
    /** Field names of the vendor's format that may be printed (never values). */
    vendorSafe: (segment: string) => boolean = () => false
  ): WebhookParseError {
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
    return WebhookParseError.fromProblems(what, [...new Set(meaningful.map((i) => describeIssue(i, vendorSafe)))])
  }
}


const MAX_PROBLEMS = 10

/** Path segments of our own schemas that a decode error may print; anything else is masked. */
let ownKeys: ReadonlySet<string> | undefined
const safeSegment = (segment: PropertyKey, vendorSafe: (s: string) => boolean): string => {
  ownKeys ??= new Set([...Object.keys(MultipartParts.fields), ...Object.keys(MultipartFile.fields)])
  const s = String(segment)
  return ownKeys.has(s) || /^\d{1,6}$/.test(s) || vendorSafe(s) ? s : "*"
}

const describeIssue = (issue: ParseResult.ArrayFormatterIssue, vendorSafe: (s: string) => boolean): string => {
  const path = issue.path.map((s) => safeSegment(s, vendorSafe)).join(".")
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

export const str = (message: string) => Schema.String.annotations({ message: () => message })

/** Provider ids (`SM…`, `CA…`, `AC…`): safe as DB keys and in logs. */
export const ProviderSid = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9_-]{1,64}$/, { message: () => "must be 1-64 letters, digits, underscores or hyphens" })
)

/** A phone number, short code, alphanumeric sender or channel address (`whatsapp:+1…`). */
export const Address = Schema.String.pipe(
  Schema.minLength(1, { message: () => "must not be empty" }),
  Schema.maxLength(256, { message: () => "is too long" })
)

export const countFromString = (max: number) =>
  Schema.transformOrFail(str("must be a string"), Schema.Number, {
    strict: true,
    decode: (s, _, ast) =>
      /^\d{1,9}$/.test(s) && Number(s) <= max
        ? ParseResult.succeed(Number(s))
        : ParseResult.fail(new ParseResult.Type(ast, s, `must be a whole number from 0 to ${max}`)),
    encode: (n) => ParseResult.succeed(String(n))
  })

/** `JSON.parse` then decode; the failure message never includes the JSON parser's excerpt of the input. */
export const jsonString = <A, I>(schema: Schema.Schema<A, I>) =>
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
export const withoutEmpty = (fields: FormFields, names: ReadonlyArray<string>): FormFields => {
  const out: Record<string, string> = {}
  for (const key of Object.keys(fields)) {
    const value = fields[key]
    if (value === undefined || (value === "" && names.includes(key))) continue
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true })
  }
  return out
}

export const atPath = (path: PropertyKey, ast: AST.AST, actual: unknown, message: string): ParseResult.ParseIssue =>
  new ParseResult.Pointer(path, actual, new ParseResult.Type(ast, actual, message))

export const failAll = (ast: AST.AST, actual: unknown, issues: ReadonlyArray<ParseResult.ParseIssue>) => {
  const [first, ...rest] = issues
  return first === undefined
    ? ParseResult.fail(new ParseResult.Type(ast, actual, "is invalid"))
    : ParseResult.fail(rest.length === 0 ? first : new ParseResult.Composite(ast, actual, [first, ...rest]))
}

export const oneWay = (ast: AST.AST, actual: unknown) =>
  ParseResult.fail(new ParseResult.Forbidden(ast, actual, "encoding back to the provider format is not supported"))

// ---------------------------------------------------------------------------------------------------------
// Normalized inbound messages and status changes (every telephony vendor decodes into these)

export const InboundMedia = Schema.Struct({
  url: Schema.String,
  contentType: Schema.String
})
export type InboundMedia = typeof InboundMedia.Type

export const MessageChannel = Schema.Literal("sms", "whatsapp")
export type MessageChannel = typeof MessageChannel.Type

/** A normalized inbound text message. Addresses never carry the `whatsapp:` prefix; `channel` says which. */
export const InboundMessage = Schema.Struct({
  provider: Schema.String,
  providerMessageId: Schema.String,
  channel: MessageChannel,
  from: Schema.String,
  to: Schema.String,
  body: Schema.String,
  media: Schema.Array(InboundMedia),
  profileName: Schema.optionalWith(Schema.String, { exact: true })
})
export type InboundMessage = typeof InboundMessage.Type


/**
 * A string restricted to `values`. Decoding failures say `message` (a literal union's own message
 * annotation is not used by the formatter, and its per-member messages would quote the input).
 */
export const oneOf = <const L extends string>(values: ReadonlyArray<L>, message: string) =>
  Schema.String.pipe(Schema.filter((s): s is L => (values as ReadonlyArray<string>).includes(s), { message: () => message }))

/** Our message delivery statuses; every vendor's statuses are mapped onto these. */
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

/** Our call statuses; every vendor's call states are mapped onto these. */
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

export const ErrorCode = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9_.-]{1,32}$/, { message: () => "must be a short error code" })
)

export const MessageStatusUpdate = Schema.Struct({
  provider: Schema.String,
  kind: Schema.Literal("message"),
  providerId: Schema.String,
  status: MessageStatus,
  errorCode: Schema.optionalWith(Schema.String, { exact: true })
})
export type MessageStatusUpdate = typeof MessageStatusUpdate.Type

export const CallStatusUpdate = Schema.Struct({
  provider: Schema.String,
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

// ---------------------------------------------------------------------------------------------------------
// Multipart bodies and normalized inbound email

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

export const EmailAttachment = Schema.Struct({
  filename: Schema.String,
  contentType: Schema.String,
  size: Schema.Number
})
export type EmailAttachment = typeof EmailAttachment.Type

/** A normalized inbound email. `from` is a bare address; `to` is the first envelope recipient. */
export const InboundEmail = Schema.Struct({
  provider: Schema.String,
  providerMessageId: Schema.String,
  from: Schema.String,
  to: Schema.String,
  subject: Schema.String,
  text: Schema.String,
  attachments: Schema.Array(EmailAttachment)
})
export type InboundEmail = typeof InboundEmail.Type

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

// ---------------------------------------------------------------------------------------------------------
// Email delivery events (every email vendor's event webhook decodes into these)

/** What happened to an email we sent. `complained` = marked as spam; `unsubscribed` = the vendor's own link. */
export const EmailEventType = Schema.Literal(
  "processed",
  "delivered",
  "deferred",
  "bounced",
  "dropped",
  "complained",
  "unsubscribed",
  "opened",
  "clicked"
)
export type EmailEventType = typeof EmailEventType.Type

export const EmailEvent = Schema.Struct({
  provider: Schema.String,
  /** The id the vendor answered the send with (what `messages.external_id` holds). */
  providerMessageId: Schema.String,
  type: EmailEventType,
  /** The recipient the event is about (lower-cased address). */
  recipient: Schema.String,
  /** Our correlation id when the vendor echoed it (settles a send whose outcome was unknown). */
  correlationId: Schema.optionalWith(Schema.String, { exact: true })
})
export type EmailEvent = typeof EmailEvent.Type
