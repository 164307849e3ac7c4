import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { createHash, randomBytes } from "node:crypto"
import type { MediaItem } from "../../../schema/Domain.ts"
import { AppConfig } from "../../config/AppConfig.ts"
import { checkFetchable } from "../../http/OutboundUrlPolicy.ts"
import { PublicUrl } from "../../http/PublicUrl.ts"
import type { EmailProvider } from "../EmailProvider.ts"
import type { Telephony } from "../Telephony.ts"
import { SandboxCarrier, sid } from "./SandboxCarrier.ts"

/** Largest attachment the sandbox mail system fetches from a mediaUrl. */
const MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024


/**
 * The sandbox network's wire: what the carrier sends is delivered through the
 * real webhook path. A message to an address held by one of our agents
 * becomes that agent's inbound webhook (a Twilio-signed form post, or a
 * SendGrid Inbound Parse multipart post for email); anything else lands in
 * `sandbox_outbox`. The sender then gets a signed status callback. Deliveries
 * run in the background, after the send has been answered, like a carrier's.
 */
export class SandboxDelivery extends Effect.Service<SandboxDelivery>()("app/providers/sandbox/SandboxDelivery", {
  scoped: Effect.gen(function*() {
    const config = yield* AppConfig
    const carrier = yield* SandboxCarrier
    const sql = yield* SqlClient.SqlClient
    const http = (yield* HttpClient.HttpClient).pipe(HttpClient.filterStatusOk)
    const fibers = yield* FiberSet.make()
    const accountSid = "AC" + createHash("sha256").update(Redacted.value(config.sandboxAuthToken)).digest("hex").slice(0, 32)
    const publicUrl = yield* PublicUrl

    const retry = Schedule.exponential("200 millis").pipe(Schedule.intersect(Schedule.recurs(4)))

    /** A form post signed exactly as Twilio signs it, retried a few times like a carrier would. */
    const postSigned = (url: string, params: Record<string, string>) =>
      http.execute(
        HttpClientRequest.post(url).pipe(
          HttpClientRequest.setHeader("X-Twilio-Signature", carrier.sign(url, params)),
          HttpClientRequest.bodyUrlParams(params)
        )
      ).pipe(Effect.scoped, Effect.retry(retry), Effect.timeout("30 seconds"))

    const statusCallback = (url: string, params: { MessageSid: string; From: string; To: string }, status: string) =>
      postSigned(url, { ...params, AccountSid: accountSid, MessageStatus: status }).pipe(
        Effect.catchAll(() => Effect.logWarning("sandbox status callback not accepted").pipe(Effect.annotateLogs({ status })))
      )

    const toOutbox = (m: {
      providerMessageId: string
      channel: string
      from: string
      to: string
      subject: string | null
      body: string
      media: ReadonlyArray<MediaItem>
      bcc: string | null
    }) =>
      sql`INSERT INTO sandbox_outbox ${
        sql.insert({
          providerMessageId: m.providerMessageId,
          channel: m.channel,
          fromAddress: m.from,
          toAddress: m.to,
          subject: m.subject,
          body: m.body,
          media: JSON.stringify(m.media),
          bcc: m.bcc
        })
      }`.pipe(Effect.asVoid, Effect.orDie)

    const background = <A, E>(effect: Effect.Effect<A, E>) =>
      FiberSet.run(fibers, effect.pipe(Effect.catchAllCause((cause) => Effect.logWarning("sandbox delivery failed", cause))))

    const sendMessage = (req: Parameters<Telephony["Type"]["sendMessage"]>[0]) =>
      Effect.gen(function*() {
        const messageSid = sid(req.media.length > 0 ? "MM" : "SM")
        const wa = (n: string) => (req.channel === "whatsapp" ? `whatsapp:${n}` : n)
        const owner = yield* carrier.ownerOf(req.to)
        const deliver = Option.match(owner, {
          onNone: () =>
            toOutbox({
              providerMessageId: messageSid,
              channel: req.channel,
              from: req.from,
              to: req.to,
              subject: null,
              body: req.body,
              media: req.media,
              bcc: null
            }).pipe(Effect.as("delivered")),
          onSome: (recipient) => {
            const params: Record<string, string> = {
              MessageSid: messageSid,
              SmsSid: messageSid,
              AccountSid: accountSid,
              From: wa(req.from),
              To: wa(req.to),
              Body: req.body,
              NumMedia: String(req.media.length),
              ...Object.fromEntries(req.media.flatMap((m, i) => [[`MediaUrl${i}`, m.url], [`MediaContentType${i}`, m.contentType]]))
            }
            if (req.channel === "whatsapp") {
              params["WaId"] = req.from.replace(/^\+/, "")
              params["ProfileName"] = req.agentId
            }
            return publicUrl.webhook(recipient, req.channel).pipe(
              Effect.flatMap((url) => postSigned(url, params)),
              Effect.as("delivered"),
              Effect.orElseSucceed(() => "undelivered")
            )
          }
        })
        yield* background(
          Effect.flatMap(deliver, (status) =>
            statusCallback(req.statusCallbackUrl, { MessageSid: messageSid, From: req.from, To: req.to }, status))
        )
        return { providerMessageId: messageSid, status: "queued" as const }
      })

    /**
     * Fetches an attachment for the mail system; the send fails if it cannot. Only public
     * addresses (no SSRF into our network), and at most MAX_ATTACHMENT_BYTES, counted while
     * streaming (a lying or absent content-length cannot exhaust memory).
     */
    const fetchAttachment = (m: MediaItem) =>
      checkFetchable(m.url, config.mediaFetchAllowPrivate).pipe(
        Effect.mapError((reason) => new Error(reason)),
        Effect.zipRight(http.get(m.url)),
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
        Effect.map((chunks) => ({ ...m, bytes: Buffer.concat([...chunks]) }))
      )

    const fileName = (m: MediaItem, i: number) => {
      const last = (() => {
        try {
          return new URL(m.url).pathname.split("/").pop() ?? ""
        } catch {
          return ""
        }
      })()
      return /^[\w.-]{1,100}$/.test(last) ? last : `attachment${i + 1}`
    }

    const sendEmail = (req: Parameters<EmailProvider["Type"]["send"]>[0]) =>
      Effect.gen(function*() {
        const messageId = `<${randomBytes(12).toString("hex")}@${config.sandboxEmailDomain}>`
        const files = yield* Effect.forEach(req.attachments, fetchAttachment)
        const owner = yield* carrier.ownerOf(req.to.toLowerCase())
        const deliverTo = (recipient: string) => {
          const form = new FormData()
          const headerBlock = [
            `Message-ID: ${messageId}`,
            `From: ${req.fromName} <${req.from}>`,
            `To: ${req.to}`,
            `Subject: ${req.subject}`,
            ...Object.entries(req.headers).map(([k, v]) => `${k}: ${v}`)
          ].join("\n")
          form.set("headers", headerBlock)
          form.set("from", `${req.fromName} <${req.from}>`)
          form.set("to", req.to)
          form.set("subject", req.subject)
          form.set("text", req.text)
          form.set("envelope", JSON.stringify({ to: [req.to], from: req.from }))
          form.set("attachments", String(files.length))
          form.set(
            "attachment-info",
            JSON.stringify(Object.fromEntries(files.map((f, i) => [`attachment${i + 1}`, {
              filename: fileName(f, i),
              type: f.contentType
            }])))
          )
          files.forEach((f, i) =>
            form.set(`attachment${i + 1}`, new Blob([f.bytes], { type: f.contentType }), fileName(f, i))
          )
          return publicUrl.webhook(recipient, "email").pipe(
            Effect.flatMap((hook) => {
              const url = `${hook}?key=${encodeURIComponent(Redacted.value(config.inboundEmailSecret))}`
              return http.execute(HttpClientRequest.post(url).pipe(HttpClientRequest.bodyFormData(form)))
            }),
            Effect.scoped,
            Effect.retry(retry),
            Effect.timeout("30 seconds"),
            Effect.asVoid
          )
        }
        const outbox = (to: string) =>
          toOutbox({
            providerMessageId: messageId,
            channel: "email",
            from: req.from,
            to,
            subject: req.subject,
            body: req.text,
            media: req.attachments,
            bcc: req.bcc ?? null
          })
        yield* background(
          Effect.all([
            Option.match(owner, { onNone: () => outbox(req.to), onSome: deliverTo }),
            // the BCC copy: to another agent's inbox, or to the outbox
            req.bcc === undefined ? Effect.void : Effect.flatMap(carrier.ownerOf(req.bcc.toLowerCase()), Option.match({
              onNone: () => Effect.void,
              onSome: deliverTo
            }))
          ], { discard: true })
        )
        return { providerMessageId: messageId, status: "queued" as const }
      }).pipe(
        Effect.mapError(() => ({ reason: "an attachment could not be fetched from its mediaUrl" }))
      )

    return { sendMessage, sendEmail, accountSid } as const
  })
}) {}
