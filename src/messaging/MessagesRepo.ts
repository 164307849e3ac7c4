import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { MediaItem, type MessageChannel, type PrivacySettings } from "../../schema/Domain.ts"
import * as Rows from "../db/Rows.ts"
import { Cipher } from "../security/Cipher.ts"

const MediaList = Rows.JsonColumn(Schema.Array(MediaItem))

const MessageRow = Schema.Struct({
  id: Schema.String,
  agentId: Schema.String,
  channel: Schema.String,
  direction: Schema.Literal("inbound", "outbound"),
  fromAddress: Schema.String,
  toAddress: Schema.String,
  subject: Schema.NullOr(Schema.String),
  body: Schema.NullOr(Schema.String),
  media: MediaList,
  externalId: Schema.NullOr(Schema.String),
  status: Schema.String,
  cost: Schema.NullOr(Rows.Num),
  fromAgentId: Schema.NullOr(Schema.String),
  createdAt: Rows.Timestamp
})
export type MessageRow = typeof MessageRow.Type

/** One message as the history returns it: body and subject only when stored (opt-in), decrypted. */
export interface StoredMessage extends Omit<MessageRow, "body" | "subject"> {
  readonly body: string | null
  readonly subject: string | null
}

export interface NewMessage {
  readonly agentId: string
  readonly channel: MessageChannel
  readonly direction: "inbound" | "outbound"
  readonly from: string
  readonly to: string
  /** The other party: `to` for outbound, `from` for inbound. */
  readonly contact: string
  readonly subject: string | null
  readonly body: string
  readonly media: ReadonlyArray<MediaItem>
  readonly provider: string
  readonly externalId: string | null
  readonly status: string
  readonly cost: number | null
  readonly fromAgentId: string | null
  /** The agent's privacy settings: the body is kept (encrypted) only if its channel opted in. */
  readonly privacy: PrivacySettings | null
}

export interface MessageQuery {
  readonly agentId: string
  readonly channel: MessageChannel | "voice" | "all"
  readonly contact: string | undefined
  readonly since: Date | undefined
  readonly limit: number
}

/** Delivery progress: a status only ever moves to a higher rank. */
const RANKS: Readonly<Record<string, number>> = {
  accepted: 0,
  scheduled: 0,
  queued: 1,
  sending: 2,
  sent: 3,
  delivered: 4,
  undelivered: 4,
  failed: 4,
  canceled: 4,
  read: 5
}
const statusRank = (status: string): number => RANKS[status] ?? 0
/** The same ranks as a SQL expression over `status` (constants only). */
const STATUS_RANK = `CASE status ${
  Object.entries(RANKS).map(([s, r]) => `WHEN '${s}' THEN ${r}`).join(" ")
} ELSE 0 END`

const InsertedRow = Schema.Struct({
  id: Schema.String,
  agentId: Schema.String,
  direction: Schema.String,
  externalId: Schema.String
})

const key = (agentId: string, direction: string, externalId: string) => `${agentId}\n${direction}\n${externalId}`

const COLUMNS = `id, agent_id, channel, direction, from_address, to_address, subject, body, media, external_id,
  status, cost, from_agent_id, created_at`

/**
 * `messages`: routing metadata of every message both ways. Bodies are stored
 * only for channels the agent owner opted in to, AES-256-GCM encrypted, with
 * an expiry after which the retention sweep deletes them.
 */
export class MessagesRepo extends Effect.Service<MessagesRepo>()("app/messaging/MessagesRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const cipher = yield* Cipher
    const decode = Schema.decodeUnknown(Schema.Array(MessageRow))
    const decodeIds = Schema.decodeUnknown(Schema.Array(Rows.IdRow))
    const decodeCount = Schema.decodeUnknown(Schema.Array(Rows.CountRow))

    /** Content (body and email subject) is kept only on opt-in, sealed, with an expiry. */
    const sealedContent = (m: NewMessage) => {
      const keep = m.privacy !== null && m.privacy.storeBodies.includes(m.channel) &&
        (m.body.length > 0 || (m.subject ?? "").length > 0)
      if (!keep || m.privacy === null) return { body: null, subject: null, bodyExpiresAt: null }
      return {
        body: m.body.length > 0 ? cipher.encrypt("message-bodies", m.body) : null,
        subject: m.subject !== null && m.subject.length > 0 ? cipher.encrypt("message-bodies", m.subject) : null,
        bodyExpiresAt: new Date(Date.now() + m.privacy.retentionDays * 86_400_000)
      }
    }

    const row = (m: NewMessage) => ({
      agentId: m.agentId,
      channel: m.channel,
      direction: m.direction,
      fromAddress: m.from,
      toAddress: m.to,
      contact: m.contact,
      media: JSON.stringify(m.media),
      mediaUrl: m.media[0]?.url ?? null,
      mediaType: m.media[0]?.contentType ?? null,
      provider: m.provider,
      externalId: m.externalId,
      status: m.status,
      cost: m.cost,
      fromAgentId: m.fromAgentId,
      ...sealedContent(m)
    })

    const decodeInserted = Schema.decodeUnknown(Schema.Array(InsertedRow))
    const insertedRows = (rows: ReadonlyArray<ReturnType<typeof row>>) =>
      sql`INSERT INTO messages ${sql.insert(rows)}
          ON CONFLICT (agent_id, direction, external_id) WHERE external_id IS NOT NULL DO NOTHING
          RETURNING id, agent_id, direction, external_id`.pipe(Effect.flatMap(decodeInserted))

    /** Inserts a message; None when the provider id was already recorded for this agent and direction. */
    const insert = (m: NewMessage) =>
      (m.externalId === null
        ? sql`INSERT INTO messages ${sql.insert(row(m))} RETURNING id`
        : sql`INSERT INTO messages ${sql.insert(row(m))}
              ON CONFLICT (agent_id, direction, external_id) WHERE external_id IS NOT NULL DO NOTHING
              RETURNING id`).pipe(
        Effect.flatMap(decodeIds),
        Effect.map((rows) => Option.fromNullable(rows[0]?.id)),
        Effect.withSpan("MessagesRepo.insert")
      )

    /**
     * Moves an outbound message's status forward (callbacks can arrive out of order: a late
     * "sent" never overwrites "delivered"). Returns how many messages have that provider id,
     * updated or not: 0 means the row is not there (yet).
     */
    const setStatus = (agentId: string, externalId: string, status: string) =>
      sql`WITH m AS (
            SELECT id, ${sql.literal(STATUS_RANK)} AS rank FROM messages
            WHERE agent_id = ${agentId} AND external_id = ${externalId} AND direction = 'outbound'
          ), u AS (
            UPDATE messages SET status = ${status}, updated_at = now()
            WHERE id IN (SELECT id FROM m WHERE rank < ${statusRank(status)}) RETURNING id
          )
          SELECT count(*) AS n FROM m`.pipe(
        Effect.flatMap(decodeCount),
        Effect.map((rows) => rows[0]?.n ?? 0),
        Effect.withSpan("MessagesRepo.setStatus")
      )

    const list = (q: MessageQuery) =>
      Effect.gen(function*() {
        const where = [
          sql`agent_id = ${q.agentId}`,
          ...(q.channel === "all" ? [] : [sql`channel = ${q.channel}`]),
          ...(q.contact === undefined ? [] : [sql`contact = ${q.contact}`]),
          ...(q.since === undefined ? [] : [sql`created_at >= ${q.since}`])
        ]
        const rows = yield* sql`SELECT ${sql.literal(COLUMNS)} FROM messages WHERE ${sql.and(where)}
          ORDER BY created_at DESC, id DESC LIMIT ${q.limit}`.pipe(Effect.flatMap(decode))
        const total = yield* sql`SELECT count(*) AS n FROM messages WHERE ${sql.and(where)}`.pipe(Effect.flatMap(decodeCount))
        const messages: ReadonlyArray<StoredMessage> = rows.map((r) => ({
          ...r,
          body: r.body === null ? null : cipher.decrypt("message-bodies", r.body) ?? null,
          subject: r.subject === null ? null : cipher.decrypt("message-bodies", r.subject) ?? null
        }))
        return { messages, totalCount: total[0]?.n ?? 0 }
      }).pipe(Effect.withSpan("MessagesRepo.list"))

    /** When the contact last wrote to the agent on `channel` (the WhatsApp 24-hour window). */
    const lastInboundAt = (agentId: string, channel: MessageChannel, contact: string) =>
      sql`SELECT max(created_at) AS at FROM messages
          WHERE agent_id = ${agentId} AND channel = ${channel} AND direction = 'inbound' AND contact = ${contact}`.pipe(
        Effect.map((rows) => {
          const at = rows[0]?.["at"]
          return at === null || at === undefined ? Option.none<Date>() : Option.some(new Date(at as string | Date))
        })
      )

    /** Deletes stored bodies whose retention ended; returns how many. */
    const purgeExpiredBodies = sql`UPDATE messages SET body = NULL, subject = NULL, body_expires_at = NULL
        WHERE body_expires_at IS NOT NULL AND body_expires_at <= now() RETURNING id`.pipe(
      Effect.map((rows) => rows.length),
      Effect.withSpan("MessagesRepo.purgeExpiredBodies")
    )

    /**
     * Inserts several messages in one statement; answers, per message and in order, its id, or
     * None when its provider id was already recorded for that agent and direction (before, or
     * earlier in the same list: the first one wins). Messages without a provider id are inserted
     * one by one (nothing to match their returned rows by).
     */
    const insertMany = (ms: ReadonlyArray<NewMessage>) =>
      Effect.gen(function*() {
        const keyed = ms.filter((m) => m.externalId !== null)
        const inserted = new Map<string, string>()
        if (keyed.length > 0) {
          const rows = yield* insertedRows(keyed.map(row))
          for (const r of rows) inserted.set(key(r.agentId, r.direction, r.externalId), r.id)
        }
        const out: Array<Option.Option<string>> = []
        for (const m of ms) {
          if (m.externalId === null) {
            out.push(yield* insert(m))
            continue
          }
          const k = key(m.agentId, m.direction, m.externalId)
          const id = inserted.get(k)
          inserted.delete(k) // a later message with the same provider id is a duplicate
          out.push(Option.fromNullable(id))
        }
        return out
      }).pipe(Effect.withSpan("MessagesRepo.insertMany", { attributes: { count: ms.length } }))

    return { insert, insertMany, setStatus, list, lastInboundAt, purgeExpiredBodies } as const
  })
}) {}
