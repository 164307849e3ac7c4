import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
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
 * transaction; the audit trail records the counts, never the contact.
 */
export class Erasure extends Effect.Service<Erasure>()("app/messaging/Erasure", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const audit = yield* AuditLog

    const eraseContact = (contact: string, actor: string) =>
      Effect.gen(function*() {
        const variants = contactVariants(contact)
        if (variants.length === 0) {
          return { messagesDeleted: 0, contactFrequencyDeleted: 0, callLogsDeleted: 0, callbacksDeleted: 0 }
        }
        const messages = yield* sql`DELETE FROM messages WHERE contact IN ${sql.in(variants)} RETURNING id`
        const webhookIds = messages.map((r) => `msg_${String(r["id"])}`)
        const callbacks = webhookIds.length === 0
          ? []
          : yield* sql`DELETE FROM webhook_outbox WHERE webhook_id IN ${sql.in(webhookIds)} RETURNING id`
        const frequency = yield* sql`DELETE FROM contact_frequency WHERE contact_number IN ${sql.in(variants)} RETURNING id`
        // the guard's action ledger keeps recipients (for the anti-harassment counts) as call:/msg: keys
        const keys = variants.flatMap((v) => [`call:${v}`, `msg:${v}`])
        yield* sql`UPDATE action_events SET contact = NULL WHERE contact IN ${sql.in(keys)}`
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
        return result
      }).pipe(
        sql.withTransaction,
        Effect.orDie,
        Effect.tap((result) => Effect.logInfo("contact erased").pipe(Effect.annotateLogs({ ...result }))),
        Effect.withSpan("Erasure.eraseContact")
      )

    return { eraseContact } as const
  })
}) {}
