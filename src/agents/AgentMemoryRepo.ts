import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { AgentId } from "../../schema/Ids.ts"

const Count = Schema.Union(Schema.Number, Schema.NumberFromString)
const Instant = Schema.Union(Schema.DateFromSelf, Schema.DateFromString)

/** The counters `comms_get_channel_status` shows that are not kept by the guard. */
export const ChannelCounters = Schema.Struct({
  monthlyMessages: Count,
  emailSent: Count,
  emailDelivered: Count,
  callSeconds: Count
})
export type ChannelCounters = typeof ChannelCounters.Type

const WindowRow = Schema.Struct({ contact: Schema.String, at: Instant })

/**
 * The reads an agent actor needs to rebuild what it keeps in memory besides the guard: channel
 * counters (read once, then kept current by the actor) and the contacts whose WhatsApp 24-hour
 * window is open.
 */
export class AgentMemoryRepo extends Effect.Service<AgentMemoryRepo>()("app/agents/AgentMemoryRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const counters = SqlSchema.single({
      Request: Schema.Struct({ agentId: AgentId, monthStart: Schema.DateFromSelf }),
      Result: ChannelCounters,
      execute: ({ agentId, monthStart }) =>
        sql`SELECT
            (SELECT count(*) FROM messages WHERE agent_id = ${agentId} AND channel = 'sms'
               AND created_at >= ${monthStart}) AS monthly_messages,
            (SELECT count(*) FROM messages WHERE agent_id = ${agentId} AND channel = 'email'
               AND direction = 'outbound') AS email_sent,
            (SELECT count(*) FROM messages WHERE agent_id = ${agentId} AND channel = 'email'
               AND direction = 'outbound' AND status IN ('sent', 'delivered')) AS email_delivered,
            (SELECT coalesce(sum(duration_seconds), 0) FROM call_logs WHERE agent_id = ${agentId}) AS call_seconds`
    })

    const openWhatsAppWindows = SqlSchema.findAll({
      Request: Schema.Struct({ agentId: AgentId, since: Schema.DateFromSelf }),
      Result: WindowRow,
      execute: ({ agentId, since }) =>
        sql`SELECT contact, max(created_at) AS at FROM messages
          WHERE agent_id = ${agentId} AND channel = 'whatsapp' AND direction = 'inbound' AND created_at > ${since}
          GROUP BY contact`
    })

    return {
      /** Counters for the month starting at `monthStart` (UTC). */
      counters: Effect.fn("AgentMemoryRepo.counters")((agentId: AgentId, monthStart: number) =>
        counters({ agentId, monthStart: new Date(monthStart) }).pipe(Effect.orDie)
      ),
      /** Contact → time of their last inbound WhatsApp message, for contacts heard from after `since`. */
      openWhatsAppWindows: Effect.fn("AgentMemoryRepo.openWhatsAppWindows")((agentId: AgentId, since: number) =>
        openWhatsAppWindows({ agentId, since: new Date(since) }).pipe(
          Effect.map((rows) => new Map(rows.map((r) => [r.contact, r.at.getTime()] as const))),
          Effect.orDie
        )
      )
    } as const
  })
}) {}
