import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { AgentId } from "../../schema/Ids.ts"

const Sender = Schema.Struct({ phoneNumber: Schema.String, senderSid: Schema.NullOr(Schema.String) })

/**
 * Pre-registered WhatsApp senders (`whatsapp_pool`). Assignment picks one free
 * sender with `FOR UPDATE SKIP LOCKED`, so concurrent provisioning never hands
 * one sender to two agents.
 */
export class WhatsAppPool extends Effect.Service<WhatsAppPool>()("app/agents/WhatsAppPool", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const decode = Schema.decodeUnknown(Schema.Array(Sender))
    return {
      assign: (agentId: AgentId) =>
        sql`UPDATE whatsapp_pool SET status = 'assigned', assigned_to_agent = ${agentId}
          WHERE id = (SELECT id FROM whatsapp_pool WHERE status = 'available'
                      ORDER BY created_at, phone_number LIMIT 1 FOR UPDATE SKIP LOCKED)
          RETURNING phone_number, sender_sid`.pipe(
          Effect.flatMap(decode),
          Effect.map((rows) => Option.fromNullable(rows[0])),
          Effect.withSpan("WhatsAppPool.assign")
        ),
      release: (agentId: AgentId) =>
        sql`UPDATE whatsapp_pool SET status = 'available', assigned_to_agent = NULL
          WHERE assigned_to_agent = ${agentId}`.pipe(Effect.asVoid, Effect.withSpan("WhatsAppPool.release")),
      available: sql`SELECT count(*)::int AS n FROM whatsapp_pool WHERE status = 'available'`.pipe(
        Effect.map((rows) => Number(rows[0]?.["n"] ?? 0))
      )
    } as const
  })
}) {}
