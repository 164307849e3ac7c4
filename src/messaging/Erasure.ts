import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { AgentId } from "../../schema/Ids.ts"
import { AgentRuntime } from "../agents/AgentRuntime.ts"
import { ForgetContact } from "../agents/Commands.ts"
import { AuditLog } from "../observability/AuditLog.ts"
import { toE164 } from "./Recipients.ts"

/** What an erasure removed (counts only: the contact itself is never recorded). */
export interface ErasureResult {
  readonly messagesDeleted: number
  readonly contactFrequencyDeleted: number
  readonly callLogsDeleted: number
  readonly callbacksDeleted: number
}

/**
 * The spellings under which a contact may be stored: as given, lower-cased
 * (emails are stored lower-cased) and as E.164 (numbers are stored so).
 */
export const contactVariants = (contact: string): ReadonlyArray<string> => {
  const trimmed = contact.trim()
  const variants = new Set([trimmed, trimmed.toLowerCase()])
  Option.map(toE164(trimmed), (e164) => variants.add(e164))
  return [...variants].filter((v) => v.length > 0)
}

/**
 * GDPR erasure of one contact (a phone number or an email address): every
 * message with them (both directions, every agent), the callbacks of those
 * messages not yet delivered, their call logs and their contact counters. One
 * transaction; the audit trail records the counts, never the contact. Then every agent that held
 * any of it forgets the contact in memory too (its counts of that recipient, its WhatsApp window).
 */
export class Erasure extends Effect.Service<Erasure>()("app/messaging/Erasure", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const audit = yield* AuditLog
    const runtime = yield* AgentRuntime

    const eraseContact = (contact: string, actor: string) =>
      Effect.gen(function*() {
        const variants = contactVariants(contact)
        if (variants.length === 0) {
          const result: ErasureResult = { messagesDeleted: 0, contactFrequencyDeleted: 0, callLogsDeleted: 0, callbacksDeleted: 0 }
          return { result, variants, agents: new Set<string>() }
        }
        const messages = yield* sql`DELETE FROM messages WHERE contact IN ${sql.in(variants)} RETURNING id, agent_id`
        const webhookIds = messages.map((r) => `msg_${String(r["id"])}`)
        const callbacks = webhookIds.length === 0
          ? []
          : yield* sql`DELETE FROM webhook_outbox WHERE webhook_id IN ${sql.in(webhookIds)} RETURNING id`
        const frequency = yield* sql`DELETE FROM contact_frequency WHERE contact_number IN ${sql.in(variants)}
          RETURNING id, agent_id`
        // the guard's action ledger keeps recipients (for the anti-harassment counts) as call:/msg: keys
        const keys = variants.flatMap((v) => [`call:${v}`, `msg:${v}`])
        const events = yield* sql`UPDATE action_events SET contact = NULL WHERE contact IN ${sql.in(keys)}
          RETURNING agent_id`
        // the sandbox's outside world holds what was "delivered" to the contact
        yield* sql`DELETE FROM sandbox_outbox WHERE to_address IN ${sql.in(variants)} OR from_address IN ${sql.in(variants)}`
        const calls = yield* sql`DELETE FROM call_logs
          WHERE from_number IN ${sql.in(variants)} OR to_number IN ${sql.in(variants)} RETURNING id`
        const result: ErasureResult = {
          messagesDeleted: messages.length,
          contactFrequencyDeleted: frequency.length,
          callLogsDeleted: calls.length,
          callbacksDeleted: callbacks.length
        }
        yield* audit.append({ eventType: "contact_erased", actor, details: { ...result } })
        const agents = new Set([...messages, ...frequency, ...events].map((r) => String(r["agentId"])))
        return { result, variants, agents }
      }).pipe(
        sql.withTransaction,
        Effect.orDie,
        // committed: the agents that held the contact drop it from memory as well
        Effect.tap(({ agents, variants }) =>
          Effect.forEach(agents, (agentId) => runtime.send(AgentId.make(agentId), new ForgetContact({ variants })), {
            discard: true,
            concurrency: 8
          })
        ),
        Effect.map(({ result }) => result),
        Effect.tap((result) => Effect.logInfo("contact erased").pipe(Effect.annotateLogs({ ...result }))),
        Effect.withSpan("Erasure.eraseContact")
      )

    return { eraseContact } as const
  })
}) {}
