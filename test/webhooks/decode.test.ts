/**
 * Decoders for inbound provider webhooks (Twilio messages and status callbacks, SendGrid Inbound Parse
 * in parsed and raw mode) and the orchestrator callback payload, on realistic payloads.
 */
import { describe, expect, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as fc from "fast-check"
import { createHash } from "node:crypto"
import { CallbackPayload, callbackFromEmail, callbackFromMessage } from "../../schema/Webhooks.ts"
import { AgentId } from "../../schema/Ids.ts"
import { decodeSendGridInbound } from "../../src/providers/sendgrid/SendGridInbound.ts"
import { computeTwilioSignature, verifyTwilioRequest } from "../../src/providers/twilio/TwilioSignature.ts"
import { decodeTwilioMessage, decodeTwilioStatus, TwilioMessageWebhook } from "../../src/providers/twilio/TwilioWebhooks.ts"
import { htmlToText } from "../../src/webhooks/mime.ts"
import { parseForm, parseMultipart } from "../../src/webhooks/parse.ts"
import { encodeMultipart, expectError } from "./support.ts"

const ACCOUNT = "AC" + "0123456789abcdef".repeat(2)
const MMS_SID = "MM" + "a1b2c3d4".repeat(4)
const SM_SID = "SM" + "feedface".repeat(4)
const CALL_SID = "CA" + "c0ffee00".repeat(4)
const mediaUrl = (n: number) =>
  `https://api.twilio.com/2010-04-01/Accounts/${ACCOUNT}/Messages/${MMS_SID}/Media/ME${String(n).repeat(32)}`

/** An inbound MMS as Twilio posts it (field order and extras as in Twilio's webhook). */
const mmsFields: Record<string, string> = {
  ToCountry: "US",
  ToState: "CA",
  SmsMessageSid: MMS_SID,
  NumMedia: "2",
  ToCity: "SAN FRANCISCO",
  FromZip: "94105",
  SmsSid: MMS_SID,
  FromState: "CA",
  SmsStatus: "received",
  FromCity: "SAN FRANCISCO",
  Body: "Look at these + 100% real",
  FromCountry: "US",
  To: "+14155550100",
  MessagingServiceSid: "MG" + "9".repeat(32),
  ToZip: "94105",
  NumSegments: "1",
  MessageSid: MMS_SID,
  AccountSid: ACCOUNT,
  From: "+14155550199",
  MediaContentType0: "image/jpeg",
  MediaUrl0: mediaUrl(0),
  MediaContentType1: "image/png",
  MediaUrl1: mediaUrl(1),
  ApiVersion: "2010-04-01"
}

const whatsappFields: Record<string, string> = {
  SmsMessageSid: SM_SID,
  NumMedia: "0",
  ProfileName: "Ada Lovelace",
  MessageType: "text",
  SmsSid: SM_SID,
  WaId: "14155550199",
  SmsStatus: "received",
  Body: "Hi! Is the 3pm slot still free?",
  To: "whatsapp:+14155238886",
  NumSegments: "1",
  ReferralNumMedia: "0",
  MessageSid: SM_SID,
  AccountSid: ACCOUNT,
  From: "whatsapp:+14155550199",
  ApiVersion: "2010-04-01"
}

describe("Twilio inbound message", () => {
  it.effect("SMS/MMS with two media, end to end from the raw form body", () =>
    Effect.gen(function* () {
      const rawBody = new URLSearchParams(mmsFields).toString()
      const url = "https://comms.example.com/webhooks/agent-7/sms"
      const params = parseForm(rawBody)
      const signatureHeader = computeTwilioSignature("auth-token-123", url, mmsFields)
      expect(verifyTwilioRequest({ authToken: "auth-token-123", signatureHeader, url, params })).toBe(true)

      const message = yield* decodeTwilioMessage(params)
      expect(message).toEqual({
        provider: "twilio",
        providerMessageId: MMS_SID,
        channel: "sms",
        from: "+14155550199",
        to: "+14155550100",
        body: "Look at these + 100% real",
        media: [
          { url: mediaUrl(0), contentType: "image/jpeg" },
          { url: mediaUrl(1), contentType: "image/png" }
        ]
      })
    }))

  it.effect("WhatsApp: strips the whatsapp: prefix, sets the channel, keeps ProfileName", () =>
    Effect.gen(function* () {
      const message = yield* decodeTwilioMessage(parseForm(new URLSearchParams(whatsappFields).toString()))
      expect(message).toEqual({
        provider: "twilio",
        providerMessageId: SM_SID,
        channel: "whatsapp",
        from: "+14155550199",
        to: "+14155238886",
        body: "Hi! Is the 3pm slot still free?",
        media: [],
        profileName: "Ada Lovelace"
      })
    }))

  it.effect("Body and NumMedia may be absent; unknown and repeated fields are tolerated", () =>
    Effect.gen(function* () {
      const message = yield* decodeTwilioMessage({
        MessageSid: SM_SID,
        AccountSid: ACCOUNT,
        From: "+447700900123",
        To: "12345",
        SomethingNew: ["a", "b"],
        ProfileName: ""
      })
      expect(message).toEqual({
        provider: "twilio",
        providerMessageId: SM_SID,
        channel: "sms",
        from: "+447700900123",
        to: "12345",
        body: "",
        media: []
      })
    }))

  it.effect("missing media content type defaults to application/octet-stream", () =>
    Effect.gen(function* () {
      const { MediaContentType1: _, ...fields } = mmsFields
      const message = yield* decodeTwilioMessage(fields)
      expect(message.media[1]).toEqual({ url: mediaUrl(1), contentType: "application/octet-stream" })
    }))

  it("lists every problem and never echoes values", async () => {
    const error = await expectError(
      decodeTwilioMessage({
        From: "whatsapp:+1secret-number",
        To: "+1555 private",
        NumMedia: "3",
        MediaUrl0: "javascript:alert('secret')",
        MessageSid: "not a sid secret"
      })
    )
    expect(error.problems).toEqual(
      expect.arrayContaining([
        "MessageSid must be 1-64 letters, digits, underscores or hyphens",
        "AccountSid is missing"
      ])
    )
    expect(error.message).toMatch(/^invalid Twilio message webhook: /)
    expect(error.message).not.toMatch(/secret|private/)
  })

  it("rejects media, channel and NumMedia problems with value-free messages", async () => {
    const base = { MessageSid: SM_SID, AccountSid: ACCOUNT }
    const mixed = await expectError(decodeTwilioMessage({ ...base, From: "whatsapp:+14155550199", To: "+14155550100" }))
    expect(mixed.problems).toEqual(["From and To disagree on the channel"])
    const other = await expectError(decodeTwilioMessage({ ...base, From: "messenger:12345", To: "+14155550100" }))
    expect(other.problems).toEqual(["From uses an unsupported channel prefix"])
    const media = await expectError(
      decodeTwilioMessage({ ...base, From: "+1", To: "+2", NumMedia: "2", MediaUrl0: "ftp://x/y" })
    )
    expect(media.problems).toEqual(["MediaUrl0 must be an http(s) URL", "MediaUrl1 is missing (NumMedia counts it)"])
    const count = await expectError(decodeTwilioMessage({ ...base, From: "+1", To: "+2", NumMedia: "1e9" }))
    expect(count.problems).toEqual(["NumMedia must be a whole number from 0 to 20"])
  })

  it("the schema is one-way: encoding is refused, not faked", () => {
    const result = Schema.encodeEither(TwilioMessageWebhook)({
      provider: "twilio",
      providerMessageId: SM_SID,
      channel: "sms",
      from: "+1",
      to: "+2",
      body: "",
      media: []
    })
    expect(result._tag).toBe("Left")
  })
})

describe("Twilio status callbacks", () => {
  it.effect("message delivered", () =>
    Effect.gen(function* () {
      const update = yield* decodeTwilioStatus(
        parseForm(
          `SmsSid=${SM_SID}&SmsStatus=delivered&MessageStatus=delivered&To=%2B14155550100&MessageSid=${SM_SID}` +
            `&AccountSid=${ACCOUNT}&From=%2B14155550199&ApiVersion=2010-04-01&ErrorCode=`
        )
      )
      expect(update).toEqual({ provider: "twilio", kind: "message", providerId: SM_SID, status: "delivered" })
    }))

  it.effect("message undelivered with an error code; WhatsApp read", () =>
    Effect.gen(function* () {
      const failed = yield* decodeTwilioStatus({ MessageSid: SM_SID, MessageStatus: "undelivered", ErrorCode: "30003" })
      expect(failed).toEqual({
        provider: "twilio",
        kind: "message",
        providerId: SM_SID,
        status: "undelivered",
        errorCode: "30003"
      })
      const read = yield* decodeTwilioStatus({ MessageSid: SM_SID, MessageStatus: "read", ChannelPrefix: "whatsapp" })
      expect(read.status).toBe("read")
    }))

  it.effect("legacy SmsSid/SmsStatus only", () =>
    Effect.gen(function* () {
      const update = yield* decodeTwilioStatus({ SmsSid: SM_SID, SmsStatus: "sent" })
      expect(update).toEqual({ provider: "twilio", kind: "message", providerId: SM_SID, status: "sent" })
    }))

  it.effect("call completed with duration", () =>
    Effect.gen(function* () {
      const update = yield* decodeTwilioStatus(
        parseForm(
          `Called=%2B14155550100&ToState=CA&CallerCountry=US&Direction=outbound-api&Timestamp=Tue%2C%2003%20Nov%202026%2012%3A00%3A00%20%2B0000` +
            `&CallbackSource=call-progress-events&SequenceNumber=3&CallSid=${CALL_SID}&To=%2B14155550100&CallStatus=completed` +
            `&CallDuration=42&AccountSid=${ACCOUNT}&From=%2B14155550199&ApiVersion=2010-04-01&Duration=1`
        )
      )
      expect(update).toEqual({
        provider: "twilio",
        kind: "call",
        providerId: CALL_SID,
        status: "completed",
        durationSeconds: 42
      })
    }))

  it.effect("every call status literal decodes", () =>
    Effect.gen(function* () {
      for (const status of ["queued", "ringing", "in-progress", "completed", "busy", "failed", "no-answer", "canceled"]) {
        const update = yield* decodeTwilioStatus({ CallSid: CALL_SID, CallStatus: status })
        expect(update.status).toBe(status)
      }
    }))

  it("unknown statuses, ambiguity and absence fail without echoing values", async () => {
    const unknown = await expectError(decodeTwilioStatus({ MessageSid: SM_SID, MessageStatus: "teleported-secret" }))
    expect(unknown.problems).toEqual(["MessageStatus is not a known message status"])
    expect(unknown.message).not.toContain("teleported")
    const both = await expectError(decodeTwilioStatus({ MessageSid: SM_SID, MessageStatus: "sent", CallStatus: "busy" }))
    expect(both.problems).toEqual(["has both MessageStatus and CallStatus; cannot tell message from call"])
    const neither = await expectError(decodeTwilioStatus({ MessageSid: SM_SID }))
    expect(neither.problems).toEqual(["MessageStatus is missing (and so is CallStatus)"])
    const duration = await expectError(decodeTwilioStatus({ CallSid: CALL_SID, CallStatus: "completed", CallDuration: "-1" }))
    expect(duration.problems).toEqual(["CallDuration must be a whole number from 0 to 1000000000"])
  })
})

// ---------------------------------------------------------------------------------------------------------

const sendGridHeaders = [
  "Received: from mail-wr1-f41.google.com (mail-wr1-f41.google.com [209.85.221.41]) by mx0047p1mdw1.sendgrid.net",
  "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;",
  "\td=example.com; s=20230601",
  "MIME-Version: 1.0",
  "From: \"Lovelace, Ada\" <ada@example.com>",
  "Date: Tue, 3 Nov 2026 12:00:00 +0000",
  "Message-ID: <CAF=abc123@mail.gmail.com>",
  "Subject: Quarterly report",
  "To: agent-7@inbound.example.org, other@example.org",
  "Content-Type: multipart/mixed; boundary=\"000000000000aa\""
].join("\n")

const parsedModeForm = () => {
  const form = new FormData()
  form.append("headers", sendGridHeaders)
  form.append("dkim", "{@example.com : pass}")
  form.append("content-ids", "{}")
  form.append("to", "agent-7@inbound.example.org, other@example.org")
  form.append("from", "\"Lovelace, Ada\" <ada@example.com>")
  form.append("text", "Hi agent,\r\nthe report is attached.\r\n")
  form.append("html", "<div>Hi agent,<br>the report is attached.</div>")
  form.append("sender_ip", "209.85.221.41")
  form.append("spam_score", "0.1")
  form.append("envelope", JSON.stringify({ to: ["agent-7@inbound.example.org"], from: "ada@example.com" }))
  form.append("attachments", "1")
  form.append("subject", "Quarterly report")
  form.append(
    "attachment-info",
    JSON.stringify({ attachment1: { filename: "report Q3.pdf", name: "report Q3.pdf", type: "application/pdf" } })
  )
  form.append("charsets", JSON.stringify({ to: "UTF-8", html: "UTF-8", subject: "UTF-8", from: "UTF-8", text: "UTF-8" }))
  form.append("SPF", "pass")
  form.append("attachment1", new Blob([new Uint8Array(2048).fill(0x25)], { type: "application/pdf" }), "report Q3.pdf")
  return form
}

describe("SendGrid Inbound Parse, parsed mode", () => {
  it.effect("real multipart bytes with an attachment → InboundEmail", () =>
    Effect.gen(function* () {
      const { body, contentType } = yield* Effect.promise(() => encodeMultipart(parsedModeForm()))
      const parts = yield* parseMultipart(body, contentType)
      expect(parts.files).toEqual([
        { field: "attachment1", filename: "report Q3.pdf", contentType: "application/pdf", size: 2048 }
      ])
      expect(parts.fields["SPF"]).toBe("pass")
      const email = yield* decodeSendGridInbound(parts)
      expect(email).toEqual({
        provider: "sendgrid",
        providerMessageId: "<CAF=abc123@mail.gmail.com>",
        from: "ada@example.com",
        to: "agent-7@inbound.example.org",
        subject: "Quarterly report",
        text: "Hi agent,\r\nthe report is attached.\r\n",
        attachments: [{ filename: "report Q3.pdf", contentType: "application/pdf", size: 2048 }]
      })
    }))

  it.effect("without Message-ID the id is a SHA-256 of from, to, subject, date and text", () =>
    Effect.gen(function* () {
      const fields = {
        from: "Bob <bob@example.net>",
        to: "agent@x.example",
        subject: "Hello",
        text: "body",
        headers: "Date: Tue, 3 Nov 2026 12:00:00 +0000\nSubject: Hello"
      }
      const email = yield* decodeSendGridInbound({ fields, files: [] })
      const expected = createHash("sha256")
        .update(["bob@example.net", "agent@x.example", "Hello", "Tue, 3 Nov 2026 12:00:00 +0000", "body"].join("\u0000"))
        .digest("hex")
      expect(email.providerMessageId).toBe(expected)
      const again = yield* decodeSendGridInbound({ fields: { ...fields }, files: [] })
      expect(again.providerMessageId).toBe(expected)
    }))

  it.effect("falls back to the envelope sender, the to header, and html stripped of tags", () =>
    Effect.gen(function* () {
      const email = yield* decodeSendGridInbound({
        fields: {
          to: "\"Agent, Seven\" <agent-7@inbound.example.org>",
          envelope: JSON.stringify({ to: [], from: "bounce+x@mailer.example" }),
          html: "<html><style>p{color:red}</style><p>Hello &amp; welcome</p><p>Line&nbsp;2 &#x263A;</p><script>alert(1)</script></html>"
        },
        files: []
      })
      expect(email.from).toBe("bounce+x@mailer.example")
      expect(email.to).toBe("agent-7@inbound.example.org")
      expect(email.text).toBe("Hello & welcome\n\nLine 2 ☺")
      expect(email.subject).toBe("")
    }))

  it.effect("attachments from attachment-info and files are merged in attachmentN order", () =>
    Effect.gen(function* () {
      const email = yield* decodeSendGridInbound({
        fields: {
          from: "a@b.c",
          to: "d@e.f",
          attachments: "3",
          "attachment-info": JSON.stringify({
            attachment2: { filename: "b.png", type: "image/png" },
            attachment10: { name: "j.txt" }
          })
        },
        files: [
          { field: "attachment10", filename: "j.txt", contentType: "text/plain", size: 10 },
          { field: "attachment1", filename: "a.csv", contentType: "text/csv", size: 1 },
          { field: "attachment2", filename: "ignored.bin", contentType: "application/octet-stream", size: 2 },
          { field: "unrelated", filename: "x", contentType: "x/y", size: 3 }
        ]
      })
      expect(email.attachments).toEqual([
        { filename: "a.csv", contentType: "text/csv", size: 1 },
        { filename: "b.png", contentType: "image/png", size: 2 },
        { filename: "j.txt", contentType: "text/plain", size: 10 }
      ])
    }))

  it("bad JSON, missing addresses: typed errors without values", async () => {
    const badJson = await expectError(
      decodeSendGridInbound({ fields: { from: "a@b.c", to: "d@e.f", envelope: "{\"to\": [\"secret@x.y\"" }, files: [] })
    )
    expect(badJson.problems).toEqual(["envelope is not valid JSON"])
    expect(badJson.message).not.toContain("secret")
    const badShape = await expectError(
      decodeSendGridInbound({ fields: { from: "a@b.c", envelope: "{\"to\": \"secret@x.y\"}" }, files: [] })
    )
    expect(badShape.problems).toEqual(["envelope.to must be an array of strings"])
    const badInfo = await expectError(
      decodeSendGridInbound({
        fields: { from: "a@b.c", to: "d@e.f", "attachment-info": JSON.stringify({ "secret@x.y": 5, attachment1: [] }) },
        files: []
      })
    )
    expect(badInfo.problems).toEqual(["attachment-info.* must be an object", "attachment-info.attachment1 must be an object"])
    const none = await expectError(decodeSendGridInbound({ fields: { from: "Secret Person", subject: "hi" }, files: [] }))
    expect(none.problems).toEqual([
      "from has no valid email address",
      "to has no valid email address (envelope.to or to)"
    ])
    expect(none.message).not.toContain("Secret")
  })
})

const rawMime = [
  "Received: by mx.sendgrid.net",
  "From: =?UTF-8?Q?Jos=C3=A9_P=C3=A9rez?= <jose@example.es>",
  "To: Agent <agent-7@inbound.example.org>",
  "Subject: =?UTF-8?B?UmU6IMOpdMOp?=",
  "  =?UTF-8?Q?_y_m=C3=A1s?=",
  "Date: Tue, 3 Nov 2026 12:00:00 +0000",
  "Message-ID: <raw-1@example.es>",
  "MIME-Version: 1.0",
  "Content-Type: multipart/mixed; boundary=\"outer\"",
  "",
  "This is a multi-part message in MIME format.",
  "--outer",
  "Content-Type: multipart/alternative; boundary=inner",
  "",
  "--inner",
  "Content-Type: text/plain; charset=\"UTF-8\"",
  "Content-Transfer-Encoding: quoted-printable",
  "",
  "Hola, =C3=A9sto es una l=C3=ADnea muy larga que se parte con un salto sua=",
  "ve.",
  "--inner",
  "Content-Type: text/html; charset=\"UTF-8\"",
  "",
  "<p>Hola</p>",
  "--inner--",
  "--outer",
  "Content-Type: application/pdf; name=\"a.pdf\"",
  "Content-Disposition: attachment; filename=\"a.pdf\"",
  "Content-Transfer-Encoding: base64",
  "",
  "JVBERi0xLjQK",
  "--outer--",
  ""
].join("\r\n")

describe("SendGrid Inbound Parse, raw mode", () => {
  it.effect("email field: headers, encoded words and the nested text/plain part", () =>
    Effect.gen(function* () {
      const form = new FormData()
      form.append("dkim", "{@example.es : pass}")
      form.append("email", rawMime)
      form.append("to", "agent-7@inbound.example.org")
      form.append("from", "jose@example.es")
      form.append("sender_ip", "192.0.2.1")
      form.append("envelope", JSON.stringify({ to: ["agent-7@inbound.example.org"], from: "jose@example.es" }))
      form.append("charsets", JSON.stringify({ to: "UTF-8", from: "UTF-8" }))
      form.append("SPF", "pass")
      const { body, contentType } = yield* Effect.promise(() => encodeMultipart(form))
      const email = yield* decodeSendGridInbound(yield* parseMultipart(body, contentType))
      expect(email).toEqual({
        provider: "sendgrid",
        providerMessageId: "<raw-1@example.es>",
        from: "jose@example.es",
        to: "agent-7@inbound.example.org",
        subject: "Re: été y más",
        text: "Hola, ésto es una línea muy larga que se parte con un salto suave.",
        attachments: []
      })
    }))

  it.effect("rawEmail alias, single-part base64 latin-1 body, no envelope", () =>
    Effect.gen(function* () {
      const latin1 = Buffer.from("Caf\u00e9 cr\u00e8me", "latin1").toString("base64")
      const email = yield* decodeSendGridInbound({
        fields: {
          rawEmail: [
            "From: carol@example.fr",
            "To: agent-9@inbound.example.org",
            "Subject: plain",
            "Content-Type: text/plain; charset=iso-8859-1",
            "Content-Transfer-Encoding: base64",
            "",
            latin1
          ].join("\n")
        },
        files: []
      })
      expect(email.from).toBe("carol@example.fr")
      expect(email.to).toBe("agent-9@inbound.example.org")
      expect(email.text).toBe("Café crème")
      expect(email.providerMessageId).toMatch(/^[0-9a-f]{64}$/)
    }))

  it.effect("html-only raw message yields empty text", () =>
    Effect.gen(function* () {
      const email = yield* decodeSendGridInbound({
        fields: { email: "From: a@b.c\nTo: d@e.f\nContent-Type: text/html\n\n<p>x</p>" },
        files: []
      })
      expect(email.text).toBe("")
    }))
})

describe("htmlToText", () => {
  it("is linear on adversarial input", () => {
    const started = performance.now()
    htmlToText("<".repeat(200_000))
    htmlToText("<script>".repeat(50_000))
    htmlToText(" ".repeat(500_000) + "x")
    expect(performance.now() - started).toBeLessThan(2_000)
  })
})

describe("CallbackPayload", () => {
  const agentId = AgentId.make("agent-7")
  const receivedAt = DateTime.unsafeMake("2026-11-03T12:00:00.000Z")

  it.effect("built from an inbound message, encodes and decodes", () =>
    Effect.gen(function* () {
      const message = yield* decodeTwilioMessage(whatsappFields)
      const payload = callbackFromMessage(message, { agentId, receivedAt, fromAgentId: AgentId.make("agent-2") })
      expect(payload).toEqual({
        type: "message.received",
        agentId: "agent-7",
        channel: "whatsapp",
        from: "+14155550199",
        to: "+14155238886",
        body: "Hi! Is the 3pm slot still free?",
        media: [],
        providerMessageId: SM_SID,
        receivedAt: "2026-11-03T12:00:00.000Z",
        fromAgentId: "agent-2"
      })
      const json = JSON.stringify(yield* Schema.encode(CallbackPayload)(payload))
      expect(yield* Schema.decodeUnknown(Schema.parseJson(CallbackPayload))(json)).toEqual(payload)
    }))

  it.effect("built from an inbound email carries the subject", () =>
    Effect.gen(function* () {
      const email = yield* decodeSendGridInbound({ fields: { from: "a@b.c", to: "d@e.f", subject: "S", text: "T" }, files: [] })
      const payload = callbackFromEmail(email, { agentId, receivedAt })
      expect(payload).toMatchObject({ channel: "email", subject: "S", body: "T", media: [] })
      expect(payload).not.toHaveProperty("fromAgentId")
      expect(Schema.is(CallbackPayload)(payload)).toBe(true)
    }))

  it("rejects bad timestamps and agent ids", () => {
    const base = {
      type: "message.received",
      agentId: "agent-7",
      channel: "sms",
      from: "+1",
      to: "+2",
      body: "",
      media: [],
      providerMessageId: SM_SID
    }
    expect(Schema.is(CallbackPayload)({ ...base, receivedAt: "2026-11-03T12:00:00Z" })).toBe(true)
    expect(Schema.is(CallbackPayload)({ ...base, receivedAt: "2026-13-45T12:00:00Z" })).toBe(false)
    expect(Schema.is(CallbackPayload)({ ...base, receivedAt: "yesterday" })).toBe(false)
    expect(Schema.is(CallbackPayload)({ ...base, receivedAt: "2026-11-03T12:00:00Z", agentId: "../etc" })).toBe(false)
  })
})

describe("properties: valid payloads decode exactly", () => {
  const known = new Set(["MessageSid", "AccountSid", "From", "To", "Body", "NumMedia", "ProfileName", "WaId"])
  const extraKey = fc.string({ minLength: 1 }).filter((k) => !known.has(k) && !/^Media(Url|ContentType)\d/.test(k))
  const phone = fc.integer({ min: 10_000_000, max: 999_999_999_999 }).map((n) => `+${n}`)

  it("Twilio message: raw body → parseForm → decode, with arbitrary extra fields", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: "grapheme" }),
        phone,
        phone,
        fc.boolean(),
        fc.array(fc.webUrl(), { maxLength: 3 }),
        fc.dictionary(extraKey, fc.string(), { maxKeys: 6 }),
        async (body, from, to, whatsapp, urls, extra) => {
          const prefix = whatsapp ? "whatsapp:" : ""
          const fields: Record<string, string> = {
            ...extra,
            MessageSid: SM_SID,
            AccountSid: ACCOUNT,
            From: prefix + from,
            To: prefix + to,
            Body: body,
            NumMedia: String(urls.length)
          }
          urls.forEach((u, i) => {
            fields[`MediaUrl${i}`] = u
            fields[`MediaContentType${i}`] = "image/gif"
          })
          const message = await Effect.runPromise(decodeTwilioMessage(parseForm(new URLSearchParams(fields).toString())))
          expect(message).toEqual({
            provider: "twilio",
            providerMessageId: SM_SID,
            channel: whatsapp ? "whatsapp" : "sms",
            from,
            to,
            body,
            media: urls.map((url) => ({ url, contentType: "image/gif" }))
          })
        }
      ),
      { numRuns: 200 }
    )
  })

  it("SendGrid parsed mode: FormData bytes → parseMultipart → decode keeps subject and text", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: "grapheme" }),
        fc.string({ unit: "grapheme", minLength: 1 }),
        fc.emailAddress(),
        fc.emailAddress(),
        async (subject, text, from, to) => {
          const form = new FormData()
          form.append("from", `Someone <${from}>`)
          form.append("to", to)
          form.append("subject", subject)
          form.append("text", text)
          form.append("envelope", JSON.stringify({ to: [to], from }))
          const { body, contentType } = await encodeMultipart(form)
          const email = await Effect.runPromise(
            parseMultipart(body, contentType).pipe(Effect.flatMap(decodeSendGridInbound))
          )
          expect(email).toMatchObject({ from, to, subject, text, attachments: [] })
        }
      ),
      { numRuns: 200 }
    )
  })
})
