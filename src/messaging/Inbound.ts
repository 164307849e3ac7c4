import * as SqlClient from "@effect/sql/SqlClient"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { MediaItem } from "../../schema/Domain.ts"
import type { AgentId } from "../../schema/Ids.ts"
import {
  type CallbackContext,
  type CallbackPayload,
  callbackFromEmail,
  callbackFromMessage,
  type InboundMedia,
  type InboundMessage,
  type StatusUpdate
} from "../../schema/Webhooks.ts"
import type { AgentRecord } from "../agents/AgentsRepo.ts"
import { AgentsRepo } from "../agents/AgentsRepo.ts"
import { OutboxDeliverer } from "../callbacks/OutboxDeliverer.ts"
import * as GroupCommit from "../db/GroupCommit.ts"
import { type DecodedInboundEmail, EmailProvider, type InboundAttachment } from "../providers/EmailProvider.ts"
import { Telephony } from "../providers/Telephony.ts"
import { InboundHooks } from "../webhooks/InboundHooks.ts"
import { MessagesRepo, type NewMessage } from "./MessagesRepo.ts"

/** What became of an inbound webhook's message. */
export type Acceptance =
  | { readonly _tag: "Accepted"; readonly messageId: string }
  | { readonly _tag: "Duplicate" }

/**
 * Email attachments travel to the orchestrator inline, as `data:<type>;base64,…`
 * URLs in the callback's media list: the callback is then self-contained (no
 * attachment store to host, secure and expire), and the bytes live only in the
 * encrypted outbox row until it is delivered, after which the payload is wiped.
 * The cost is size, so at most 5 MiB of attachments (before base64) are inlined
 * per message; any attachment past that is listed as `omitted:<filename>` with
 * its content type. The `messages` row keeps metadata only: `cid:<filename>`
 * and the content type, never the bytes.
 */
export const MAX_INLINE_ATTACHMENT_BYTES = 5 * 1024 * 1024

const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/

/** A bare `type/subtype`, safe inside a data: URL; anything else is octet-stream. */
const safeContentType = (contentType: string): string => {
  const bare = (contentType.split(";")[0] ?? "").trim().toLowerCase()
  return MEDIA_TYPE.test(bare) ? bare : "application/octet-stream"
}

/** The attachments as the orchestrator gets them: inline up to the cap, then `omitted:<filename>`. */
export const forwardedAttachments = (attachments: ReadonlyArray<InboundAttachment>): ReadonlyArray<InboundMedia> => {
  let inlined = 0
  return attachments.map((a) => {
    const contentType = safeContentType(a.contentType)
    if (inlined + a.bytes.byteLength > MAX_INLINE_ATTACHMENT_BYTES) {
      return { url: `omitted:${a.filename}`, contentType }
    }
    inlined += a.bytes.byteLength
    const base64 = Buffer.from(a.bytes.buffer, a.bytes.byteOffset, a.bytes.byteLength).toString("base64")
    return { url: `data:${contentType};base64,${base64}`, contentType }
  })
}

/** What the `messages` row keeps of email attachments: names and types only. */
export const storedAttachments = (attachments: ReadonlyArray<InboundAttachment>): ReadonlyArray<MediaItem> =>
  attachments.map((a) => ({ url: `cid:${a.filename}`, contentType: safeContentType(a.contentType) }))

/** Retries of a status update that found no message row yet. */
const RETRY_MISSING_ROW = 5

/** Most inbound writes committed in one transaction. */
export const GROUP_COMMIT_MAX = 64

/** One inbound message waiting for the group commit. */
interface PendingWrite {
  readonly message: NewMessage
  readonly payload: CallbackPayload
}

const duplicate: Acceptance = { _tag: "Duplicate" }
const accepted = (messageId: string): Acceptance => ({ _tag: "Accepted", messageId })

/**
 * The inbound message path, the mirror of `Outbound`: after the webhook was
 * verified and decoded, record the message and its callback in one
 * transaction (the provider message id dedupes retries and replays), wake the
 * callback deliverer, then run the after-accept hooks. Webhooks that arrive
 * together are written by one group commit (`GroupCommit.ts`): one
 * transaction with multi-row INSERTs for up to `GROUP_COMMIT_MAX` messages; a
 * failed batch is retried item by item, so one bad message fails alone.
 */
export class Inbound extends Effect.Service<Inbound>()("app/messaging/Inbound", {
  scoped: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const messages = yield* MessagesRepo
    const agents = yield* AgentsRepo
    const outbox = yield* OutboxDeliverer
    const hooks = yield* InboundHooks
    const telephony = yield* Telephony
    const email = yield* EmailProvider

    /**
     * Records messages and their callbacks: multi-row INSERTs in one transaction. Answers, per
     * message, its id, or None for a provider id already recorded (a retry or a replay).
     */
    const record = (items: ReadonlyArray<PendingWrite>) =>
      Effect.gen(function*() {
        const ids = yield* messages.insertMany(items.map((i) => i.message))
        yield* outbox.enqueueAll(items.flatMap((item, i) => {
          const id = ids[i]
          return id !== undefined && Option.isSome(id)
            ? [{ agentId: item.message.agentId, webhookId: `msg_${id.value}`, payload: item.payload }]
            : []
        }))
        return ids
      }).pipe(sql.withTransaction)

    /** Group commit: inbound webhooks that arrive together share one transaction. */
    const writer = yield* GroupCommit.make({
      maxBatch: GROUP_COMMIT_MAX,
      runBatch: record,
      runOne: (item: PendingWrite) => Effect.map(record([item]), (ids) => ids[0] ?? Option.none<string>())
    })

    const accept = (m: {
      readonly agent: AgentRecord
      readonly channel: "sms" | "whatsapp" | "email"
      readonly provider: string
      readonly providerMessageId: string
      readonly from: string
      readonly to: string
      readonly contact: string
      readonly subject: string | null
      readonly body: string
      readonly storedMedia: ReadonlyArray<MediaItem>
      readonly callback: (ctx: CallbackContext) => CallbackPayload
    }) =>
      Effect.gen(function*() {
        const agentId = m.agent.agentId
        const sender = yield* agents.findByAddress(m.from)
        const fromAgentId: AgentId | undefined = Option.getOrUndefined(
          Option.filter(Option.map(sender, (s) => s.agentId), (id) => id !== agentId)
        )
        const receivedAt = yield* DateTime.now
        const inserted = yield* writer.submit({
          message: {
            agentId,
            channel: m.channel,
            direction: "inbound",
            from: m.from,
            to: m.to,
            contact: m.contact,
            subject: m.subject,
            body: m.body,
            media: m.storedMedia,
            provider: m.provider,
            externalId: m.providerMessageId,
            status: "received",
            cost: null,
            fromAgentId: fromAgentId ?? null,
            privacy: m.agent.privacy
          },
          payload: m.callback({ agentId, receivedAt, ...(fromAgentId !== undefined ? { fromAgentId } : {}) })
        }).pipe(Effect.orDie)
        if (Option.isNone(inserted)) {
          yield* Effect.logInfo("duplicate inbound webhook acknowledged").pipe(
            Effect.annotateLogs({ agentId, channel: m.channel })
          )
          // a provider retry may follow a first attempt whose hooks failed: apply the keyword
          // again (opt-outs are idempotent) but never reply twice
          yield* hooks.afterAccepted({
            agentId,
            channel: m.channel,
            messageId: "",
            from: m.from,
            body: m.body,
            fromAgentId,
            replay: true
          })
          return duplicate
        }
        yield* outbox.wake
        yield* hooks.afterAccepted({
          agentId,
          channel: m.channel,
          messageId: inserted.value,
          from: m.from,
          body: m.body,
          fromAgentId,
          replay: false
        })
        return accepted(inserted.value)
      })

    /** An inbound SMS/MMS/WhatsApp message. */
    const acceptMessage = (agent: AgentRecord, message: InboundMessage) =>
      accept({
        agent,
        channel: message.channel,
        provider: telephony.provider,
        providerMessageId: message.providerMessageId,
        from: message.from,
        to: message.to,
        contact: message.from,
        subject: null,
        body: message.body,
        storedMedia: message.media,
        callback: (ctx) => callbackFromMessage(message, ctx)
      }).pipe(Effect.withSpan("Inbound.acceptMessage", { attributes: { agentId: agent.agentId, channel: message.channel } }))

    /** An inbound email with its attachments (see `MAX_INLINE_ATTACHMENT_BYTES`). */
    const acceptEmail = (agent: AgentRecord, decoded: DecodedInboundEmail) =>
      accept({
        agent,
        channel: "email",
        provider: email.provider,
        providerMessageId: decoded.email.providerMessageId,
        from: decoded.email.from,
        to: decoded.email.to,
        contact: decoded.email.from.toLowerCase(),
        subject: decoded.email.subject,
        body: decoded.email.text,
        storedMedia: storedAttachments(decoded.attachments),
        callback: (ctx) => ({ ...callbackFromEmail(decoded.email, ctx), media: forwardedAttachments(decoded.attachments) })
      }).pipe(Effect.withSpan("Inbound.acceptEmail", { attributes: { agentId: agent.agentId } }))

    /**
     * A provider's status callback. A message status may arrive before the send
     * recorded its row (the provider answers the send, then calls back at once):
     * an update that finds no row is retried a few times, 200 ms apart.
     */
    const applyStatus = (agentId: AgentId, update: StatusUpdate) =>
      Effect.gen(function*() {
        if (update.kind === "message") {
          const attempt = (left: number): Effect.Effect<number> =>
            messages.setStatus(agentId, update.providerId, update.status).pipe(
              Effect.orDie,
              Effect.flatMap((n) =>
                n > 0 || left <= 0 ? Effect.succeed(n) : Effect.zipRight(Effect.sleep("200 millis"), attempt(left - 1))
              )
            )
          const updated = yield* attempt(RETRY_MISSING_ROW)
          if (updated > 0) yield* hooks.afterStatus(agentId)
          return updated
        }
        const ended = ["completed", "busy", "failed", "no-answer", "canceled"].includes(update.status)
        const rows = yield* sql`UPDATE call_logs SET status = ${update.status},
            duration_seconds = COALESCE(${update.durationSeconds ?? null}, duration_seconds),
            ended_at = CASE WHEN ${ended} THEN COALESCE(ended_at, now()) ELSE ended_at END
          WHERE agent_id = ${agentId} AND call_sid = ${update.providerId} RETURNING id`.pipe(Effect.orDie)
        return rows.length
      }).pipe(Effect.withSpan("Inbound.applyStatus", { attributes: { agentId, kind: update.kind } }))

    return { acceptMessage, acceptEmail, applyStatus } as const
  })
}) {}
