import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { randomBytes } from "node:crypto"
import type { AgentId } from "../../../schema/Ids.ts"
import { AppConfig } from "../../config/AppConfig.ts"
import { computeTwilioSignature, type FormParams } from "../twilio/TwilioSignature.ts"
import { ProviderError } from "../ProviderError.ts"

export type SandboxAddressKind = "phone" | "email" | "voice_app" | "whatsapp"

/** Area codes of the fictional +1 NPA-555-01XX numbers the sandbox hands out. */
const PHONE_AREA_CODES = ["202", "212", "213", "305", "312", "415", "512", "617", "702", "808"] as const
/** WhatsApp senders come from a separate range so they never collide with agents' phone numbers. */
const WHATSAPP_AREA_CODES = ["206", "303", "404", "503", "713"] as const

const numbersOf = (areaCodes: ReadonlyArray<string>): ReadonlyArray<string> =>
  areaCodes.flatMap((npa) => Array.from({ length: 100 }, (_, i) => `+1${npa}55501${String(i).padStart(2, "0")}`))

const PHONE_NUMBERS = numbersOf(PHONE_AREA_CODES)
const WHATSAPP_NUMBERS = numbersOf(WHATSAPP_AREA_CODES)

const Row = Schema.Struct({ address: Schema.String, providerRef: Schema.String })
/** A provider-style id: a two-letter prefix and 32 hex digits (Twilio's shape). */
export const sid = (prefix: string) => prefix + randomBytes(16).toString("hex")

/**
 * The simulated phone network and mail system. It owns the fictional numbers,
 * addresses and voice apps it hands out (table `sandbox_addresses`), knows which
 * agent holds which, and signs the webhooks it delivers exactly as Twilio would,
 * keyed by SANDBOX_AUTH_TOKEN.
 */
export class SandboxCarrier extends Effect.Service<SandboxCarrier>()("app/providers/sandbox/SandboxCarrier", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const config = yield* AppConfig
    const decodeRows = Schema.decodeUnknown(Schema.Array(Row))

    const fail = (operation: string) => (cause: unknown) =>
      new ProviderError({ provider: "sandbox", operation, reason: "sandbox store unavailable", cause })

    const held = (agentId: AgentId, kind: SandboxAddressKind) =>
      sql`SELECT address, provider_ref FROM sandbox_addresses WHERE agent_id = ${agentId} AND kind = ${kind} LIMIT 1`
        .pipe(Effect.flatMap(decodeRows), Effect.map((rows) => Option.fromNullable(rows[0])))

    const tryClaim = (agentId: AgentId | null, kind: SandboxAddressKind, address: string, providerRef: string) =>
      sql`INSERT INTO sandbox_addresses ${sql.insert({ address, kind, agentId, providerRef })}
          ON CONFLICT (address) DO NOTHING RETURNING address, provider_ref`.pipe(
        Effect.flatMap(decodeRows),
        Effect.map((rows) => Option.fromNullable(rows[0]))
      )

    /** Returns what the agent already holds of `kind`, else claims the first free candidate. */
    const allocate = (
      agentId: AgentId,
      kind: SandboxAddressKind,
      candidates: () => Iterable<string>,
      ref: () => string
    ) =>
      Effect.gen(function*() {
        const existing = yield* held(agentId, kind)
        if (Option.isSome(existing)) return existing.value
        for (const candidate of candidates()) {
          const claimed = yield* tryClaim(agentId, kind, candidate, ref())
          if (Option.isSome(claimed)) return claimed.value
        }
        return yield* new ProviderError({ provider: "sandbox", operation: `allocate ${kind}`, reason: "no free sandbox address left" })
      }).pipe(Effect.catchTags({ SqlError: fail(`allocate ${kind}`), ParseError: fail(`allocate ${kind}`) }))

    /** Candidates in a random rotation of the range, so fresh databases don't all start at 0100. */
    const rotation = (all: ReadonlyArray<string>) =>
      function*() {
        const start = randomBytes(2).readUInt16BE() % all.length
        for (let i = 0; i < all.length; i++) yield all[(start + i) % all.length]!
      }

    const emailCandidates = (agentId: AgentId) =>
      function*() {
        const local = agentId.toLowerCase().replace(/[^a-z0-9._-]/g, "-")
        yield `${local}@${config.sandboxEmailDomain}`
        for (let i = 0; i < 20; i++) yield `${local}-${randomBytes(3).toString("hex")}@${config.sandboxEmailDomain}`
      }

    return {
      allocatePhoneNumber: (agentId: AgentId) =>
        allocate(agentId, "phone", rotation(PHONE_NUMBERS), () => sid("PN")).pipe(
          Effect.map((r) => ({ number: r.address, providerRef: r.providerRef }))
        ),
      allocateEmail: (agentId: AgentId) =>
        allocate(agentId, "email", emailCandidates(agentId), () => sid("EM")).pipe(
          Effect.map((r) => ({ address: r.address }))
        ),
      allocateVoiceApp: (agentId: AgentId) =>
        allocate(agentId, "voice_app", () => [sid("AP")], () => "").pipe(Effect.map((r) => ({ appSid: r.address }))),
      release: (agentId: AgentId, kind: SandboxAddressKind) =>
        sql`DELETE FROM sandbox_addresses WHERE agent_id = ${agentId} AND kind = ${kind}`.pipe(
          Effect.asVoid,
          Effect.catchTag("SqlError", fail(`release ${kind}`))
        ),
      /** Which agent holds an address (routing for agent-to-agent traffic). */
      ownerOf: (address: string) =>
        sql`SELECT agent_id FROM sandbox_addresses WHERE address = ${address} AND agent_id IS NOT NULL
            UNION ALL
            SELECT assigned_to_agent AS agent_id FROM whatsapp_pool
            WHERE phone_number = ${address} AND assigned_to_agent IS NOT NULL
            LIMIT 1`.pipe(
          Effect.map((rows) => Option.fromNullable(rows[0]?.["agentId"] as string | undefined)),
          Effect.orDie
        ),
      /**
       * Makes sure `whatsapp_pool` holds at least `size` sandbox senders. Idempotent:
       * runs at every start of the sandbox composition.
       */
      seedWhatsAppPool: (size: number) =>
        Effect.gen(function*() {
          const rows = yield* sql`SELECT count(*)::int AS n FROM whatsapp_pool`
          let missing = size - Number(rows[0]?.["n"] ?? 0)
          for (const number of WHATSAPP_NUMBERS) {
            if (missing <= 0) break
            const claimed = yield* tryClaim(null, "whatsapp", number, sid("XE"))
            if (Option.isNone(claimed)) continue
            yield* sql`INSERT INTO whatsapp_pool ${sql.insert({
              phoneNumber: claimed.value.address,
              senderSid: claimed.value.providerRef,
              status: "available"
            })} ON CONFLICT (phone_number) DO NOTHING`
            missing--
          }
        }).pipe(sql.withTransaction, Effect.orDie),
      /** Signs a form post the way Twilio does, with SANDBOX_AUTH_TOKEN. */
      sign: (url: string, params: FormParams) =>
        computeTwilioSignature(Redacted.value(config.sandboxAuthToken), url, params)
    } as const
  })
}) {}
