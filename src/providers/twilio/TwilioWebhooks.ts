import * as Effect from "effect/Effect"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import {
  Address,
  atPath,
  CALL_STATUSES,
  countFromString,
  ErrorCode,
  failAll,
  FormFields,
  type InboundMedia,
  InboundMessage,
  MESSAGE_STATUSES,
  oneOf,
  oneWay,
  ProviderSid,
  StatusUpdate,
  str,
  type WebhookParseError,
  withoutEmpty
} from "../../../schema/Webhooks.ts"
import { decodeWith, firstValues, type FormInput } from "../../webhooks/parse.ts"

/**
 * Twilio's webhook wire formats (form posts): inbound SMS/MMS/WhatsApp messages and message/call
 * status callbacks, decoded into our own `InboundMessage` / `StatusUpdate`.
 */

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

/** Field names of Twilio's forms that a decode error may print (never their values). */
const SAFE_KEYS: ReadonlySet<string> = new Set([
  ...Object.keys(TwilioMessageFields.fields),
  ...Object.keys(TwilioMessageStatusFields.fields),
  ...Object.keys(TwilioCallStatusFields.fields)
])
export const twilioSafeSegment = (s: string): boolean => SAFE_KEYS.has(s) || /^Media(Url|ContentType)\d{1,2}$/.test(s)

/** Inbound Twilio SMS/MMS/WhatsApp form fields → `InboundMessage`. */
export const decodeTwilioMessage = (fields: FormInput): Effect.Effect<InboundMessage, WebhookParseError> =>
  decodeWith(TwilioMessageWebhook, "Twilio message webhook", () => firstValues(fields), twilioSafeSegment).pipe(
    Effect.withSpan("Twilio.decodeMessage")
  )

/** Twilio message or call status callback form fields → `StatusUpdate`. */
export const decodeTwilioStatus = (fields: FormInput): Effect.Effect<StatusUpdate, WebhookParseError> =>
  decodeWith(TwilioStatusWebhook, "Twilio status webhook", () => firstValues(fields), twilioSafeSegment).pipe(
    Effect.withSpan("Twilio.decodeStatus")
  )
