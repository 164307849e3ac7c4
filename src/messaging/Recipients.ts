import { parsePhoneNumberFromString } from "libphonenumber-js/max"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { MessageChannel } from "../../schema/Domain.ts"
import { InvalidInput, NotFound } from "../../schema/Errors.ts"
import { AgentId } from "../../schema/Ids.ts"
import { type AgentRecord, AgentsRepo } from "../agents/AgentsRepo.ts"

/** WHATWG's "valid e-mail address" (what browsers accept in <input type=email>), plus a dot in the domain. */
const EMAIL = /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+$/

/** A valid phone number in E.164 (validated against libphonenumber's full metadata), or None. */
export const toE164 = (raw: string): Option.Option<string> => {
  const trimmed = raw.trim()
  if (!trimmed.startsWith("+")) return Option.none()
  const parsed = parsePhoneNumberFromString(trimmed)
  return parsed !== undefined && parsed.isValid() ? Option.some(parsed.number) : Option.none()
}

export const isEmail = (raw: string): boolean => raw.length <= 254 && EMAIL.test(raw)

export interface Recipient {
  /** Normalized address on the channel: E.164 or lower-cased email. */
  readonly address: string
  /** Set when the address belongs to one of our active agents. */
  readonly agent: Option.Option<AgentRecord>
}

/** The address of an agent on a channel, if it has that channel. */
export const addressOn = (agent: AgentRecord, channel: MessageChannel): string | null =>
  channel === "sms"
    ? (agent.capabilities.phone ? agent.phoneNumber : null)
    : channel === "whatsapp"
    ? (agent.whatsappStatus === "active" ? agent.whatsappNumber : null)
    : agent.emailAddress

/**
 * Resolves `to` / `toAgentId` into an address on the channel: another agent's
 * number or inbox by agentId, or a validated E.164 number / email address
 * (which may itself belong to one of our agents).
 */
export const resolveRecipient = (input: {
  readonly to: string
  readonly toAgentId: AgentId | undefined
  readonly channel: MessageChannel
}) =>
  Effect.gen(function*() {
    const agents = yield* AgentsRepo
    const byAgent = (id: AgentId) =>
      Effect.gen(function*() {
        const agent = yield* agents.find(id).pipe(Effect.map(Option.filter((a) => a.status === "active")))
        if (Option.isNone(agent)) return yield* new NotFound({ message: `agent ${id} is not provisioned` })
        const address = addressOn(agent.value, input.channel)
        if (address === null) {
          return yield* new InvalidInput({ message: `agent ${id} has no active ${input.channel} channel` })
        }
        return { address, agent } satisfies Recipient
      })
    if (input.toAgentId !== undefined) return yield* byAgent(input.toAgentId)
    const to = input.to.trim()
    if (input.channel === "email") {
      if (isEmail(to)) {
        const address = to.toLowerCase()
        return { address, agent: yield* agents.findByAddress(address) } satisfies Recipient
      }
    } else {
      const e164 = toE164(to)
      if (Option.isSome(e164)) {
        return { address: e164.value, agent: yield* agents.findByAddress(e164.value) } satisfies Recipient
      }
    }
    // not an address: maybe an agentId
    if (/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(to)) {
      const asAgent = AgentId.make(to)
      const found = yield* agents.find(asAgent)
      if (Option.isSome(found) && found.value.status === "active") return yield* byAgent(asAgent)
    }
    return yield* new InvalidInput({
      message: input.channel === "email"
        ? "to: expected an email address or an agentId"
        : "to: expected a valid E.164 phone number (e.g. +12025550142) or an agentId"
    })
  })
