import type { MessageChannel } from "../../schema/Domain.ts"
import type { CachedCounters } from "./AgentState.ts"

/**
 * How the actor keeps `comms_get_channel_status`'s counters current without asking the database:
 * each event the actor sees moves them as the database rows it wrote would. Undefined counters
 * (never read, or stale) stay undefined: the next status read fetches them once.
 */
export const countSent = (
  counters: CachedCounters | undefined,
  channel: MessageChannel,
  status: "queued" | "sent"
): CachedCounters | undefined => {
  if (counters === undefined) return undefined
  switch (channel) {
    case "sms":
      return { ...counters, monthlyMessages: counters.monthlyMessages + 1 }
    case "email":
      return {
        ...counters,
        emailSent: counters.emailSent + 1,
        emailDelivered: counters.emailDelivered + (status === "sent" ? 1 : 0)
      }
    case "whatsapp":
      return counters
  }
}

/** An inbound message was recorded. */
export const countReceived = (
  counters: CachedCounters | undefined,
  channel: MessageChannel
): CachedCounters | undefined =>
  counters !== undefined && channel === "sms" ? { ...counters, monthlyMessages: counters.monthlyMessages + 1 } : counters
