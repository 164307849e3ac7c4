import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { EventWebhook } from "@sendgrid/eventwebhook"
import { type EmailEvent, type EmailEventType, WebhookParseError } from "../../../schema/Webhooks.ts"
import { checkTimestamp } from "../../webhooks/verify.ts"

/**
 * SendGrid's Event Webhook: a JSON array of events, signed with ECDSA P-256/SHA-256 over
 * `timestamp + raw body` (`X-Twilio-Email-Event-Webhook-Signature` / `-Timestamp`), verified with the
 * official `@sendgrid/eventwebhook` against the account's verification key.
 */
export const SIGNATURE_HEADER = "x-twilio-email-event-webhook-signature"
export const TIMESTAMP_HEADER = "x-twilio-email-event-webhook-timestamp"

export const verifyEventSignature = (
  verificationKey: string,
  headers: Readonly<Record<string, string | undefined>>,
  rawBody: Uint8Array,
  nowMillis: number
): boolean => {
  try {
    const signature = headers[SIGNATURE_HEADER]
    const timestamp = headers[TIMESTAMP_HEADER]
    if (signature === undefined || timestamp === undefined || !/^\d{1,12}$/.test(timestamp)) return false
    if (checkTimestamp(Number(timestamp), nowMillis) !== "ok") return false
    const ew = new EventWebhook()
    return ew.verifySignature(ew.convertPublicKeyToECDSA(verificationKey), Buffer.from(rawBody), signature, timestamp)
  } catch {
    return false
  }
}

const Event = Schema.Struct({
  email: Schema.String,
  event: Schema.String,
  sg_message_id: Schema.optional(Schema.String),
  ref: Schema.optional(Schema.String)
})
const Events = Schema.parseJson(Schema.Array(Event).pipe(Schema.maxItems(10_000)))

const TYPES: Readonly<Record<string, EmailEventType>> = {
  processed: "processed",
  delivered: "delivered",
  deferred: "deferred",
  bounce: "bounced",
  dropped: "dropped",
  spamreport: "complained",
  unsubscribe: "unsubscribed",
  group_unsubscribe: "unsubscribed",
  open: "opened",
  click: "clicked"
}

/** The events we act on; unknown event names and events without a message id are skipped. */
export const decodeEvents = (rawBody: Uint8Array): Effect.Effect<ReadonlyArray<EmailEvent>, WebhookParseError> =>
  Schema.decodeUnknown(Events)(Buffer.from(rawBody).toString("utf8")).pipe(
    Effect.mapError(() => WebhookParseError.fromProblems("SendGrid event webhook", ["body is not a JSON array of events"])),
    Effect.map((events) =>
      events.flatMap((e): ReadonlyArray<EmailEvent> => {
        const type = TYPES[e.event]
        // sg_message_id is the X-Message-Id of the send, then ".filter…" per recipient
        const id = e.sg_message_id?.split(".")[0]
        if (type === undefined || id === undefined || id === "") return []
        return [{
          provider: "sendgrid",
          providerMessageId: id,
          type,
          recipient: e.email.toLowerCase(),
          ...(e.ref !== undefined ? { correlationId: e.ref } : {})
        }]
      })
    )
  )
