import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Capabilities, PrivacySettings, ProviderOverrides, RouteDuplication } from "../../schema/Domain.ts"
import { AgentId } from "../../schema/Ids.ts"

const DateLike = Schema.Union(Schema.DateFromSelf, Schema.DateFromString)
/** jsonb arrives parsed from both drivers; tolerate a string too. */
const Json = <A, I>(schema: Schema.Schema<A, I>) =>
  Schema.Union(schema, Schema.parseJson(schema))

/** One row of `agent_channels`, as the app sees it. */
export const AgentRecord = Schema.Struct({
  agentId: AgentId,
  displayName: Schema.String,
  country: Schema.NullOr(Schema.String),
  capabilities: Json(Capabilities),
  phoneNumber: Schema.NullOr(Schema.String),
  whatsappSenderSid: Schema.NullOr(Schema.String),
  whatsappNumber: Schema.NullOr(Schema.String),
  whatsappStatus: Schema.NullOr(Schema.String),
  emailAddress: Schema.NullOr(Schema.String),
  voiceAppSid: Schema.NullOr(Schema.String),
  systemPrompt: Schema.NullOr(Schema.String),
  greeting: Schema.NullOr(Schema.String),
  routeDuplication: Schema.NullOr(Json(RouteDuplication)),
  providerOverrides: Schema.NullOr(Json(ProviderOverrides)),
  privacy: Schema.NullOr(Json(PrivacySettings)),
  status: Schema.Literal("active", "deprovisioned"),
  provisionedAt: DateLike,
  deprovisionedAt: Schema.NullOr(DateLike)
})
export type AgentRecord = typeof AgentRecord.Type

export interface NewAgent {
  readonly agentId: AgentId
  readonly displayName: string
  readonly country: string
  readonly capabilities: Capabilities
  readonly phoneNumber: string | null
  readonly emailAddress: string | null
  readonly voiceAppSid: string | null
  readonly systemPrompt: string
  readonly greeting: string
  readonly routeDuplication: RouteDuplication | null
  readonly providerOverrides: ProviderOverrides | null
  readonly privacy: PrivacySettings | null
}

const COLUMNS = `agent_id, display_name, country, capabilities, phone_number, whatsapp_sender_sid, whatsapp_number,
  whatsapp_status, email_address, voice_app_sid, system_prompt, greeting, route_duplication, provider_overrides,
  privacy, status, provisioned_at, deprovisioned_at`

/** `agent_channels`: which agent owns which number, inbox and voice app. */
export class AgentsRepo extends Effect.Service<AgentsRepo>()("app/agents/AgentsRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const decode = Schema.decodeUnknown(Schema.Array(AgentRecord))
    const jsonOrNull = (v: unknown) => (v === null ? null : JSON.stringify(v))

    const find = (agentId: AgentId) =>
      sql`SELECT ${sql.literal(COLUMNS)} FROM agent_channels WHERE agent_id = ${agentId}`.pipe(
        Effect.flatMap(decode),
        Effect.map((rows) => Option.fromNullable(rows[0])),
        Effect.orDie,
        Effect.withSpan("AgentsRepo.find")
      )

    /** Inserts the agent, or reactivates a deprovisioned row of the same agentId. */
    const upsertActive = (a: NewAgent) =>
      sql`INSERT INTO agent_channels ${
        sql.insert({
          agentId: a.agentId,
          displayName: a.displayName,
          country: a.country,
          capabilities: JSON.stringify(a.capabilities),
          phoneNumber: a.phoneNumber,
          emailAddress: a.emailAddress,
          voiceAppSid: a.voiceAppSid,
          systemPrompt: a.systemPrompt,
          greeting: a.greeting,
          routeDuplication: jsonOrNull(a.routeDuplication),
          providerOverrides: jsonOrNull(a.providerOverrides),
          privacy: jsonOrNull(a.privacy),
          status: "active"
        })
      }
      ON CONFLICT (agent_id) DO UPDATE SET
        display_name = EXCLUDED.display_name, country = EXCLUDED.country, capabilities = EXCLUDED.capabilities,
        phone_number = EXCLUDED.phone_number, email_address = EXCLUDED.email_address,
        voice_app_sid = EXCLUDED.voice_app_sid, system_prompt = EXCLUDED.system_prompt,
        greeting = EXCLUDED.greeting, route_duplication = EXCLUDED.route_duplication,
        provider_overrides = EXCLUDED.provider_overrides, privacy = EXCLUDED.privacy, status = 'active',
        whatsapp_sender_sid = NULL, whatsapp_number = NULL, whatsapp_status = 'pending',
        provisioned_at = now(), deprovisioned_at = NULL, updated_at = now()`.pipe(
        Effect.asVoid,
        Effect.withSpan("AgentsRepo.upsertActive")
      )

    const setWhatsApp = (agentId: AgentId, sender: { senderSid: string; number: string | null; status: string }) =>
      sql`UPDATE agent_channels SET whatsapp_sender_sid = ${sender.senderSid}, whatsapp_number = ${sender.number},
        whatsapp_status = ${sender.status}, updated_at = now() WHERE agent_id = ${agentId}`.pipe(Effect.asVoid)

    const markDeprovisioned = (agentId: AgentId, keepAddresses: boolean) =>
      (keepAddresses
        ? sql`UPDATE agent_channels SET status = 'deprovisioned', deprovisioned_at = now(), updated_at = now(),
            whatsapp_sender_sid = NULL, whatsapp_number = NULL, whatsapp_status = 'released'
            WHERE agent_id = ${agentId}`
        : sql`UPDATE agent_channels SET status = 'deprovisioned', deprovisioned_at = now(), updated_at = now(),
            phone_number = NULL, email_address = NULL, voice_app_sid = NULL,
            whatsapp_sender_sid = NULL, whatsapp_number = NULL, whatsapp_status = 'released'
            WHERE agent_id = ${agentId}`).pipe(Effect.asVoid)

    /** The active agent holding an address (phone, WhatsApp number or email), if any. */
    const findByAddress = (address: string) =>
      sql`SELECT ${sql.literal(COLUMNS)} FROM agent_channels WHERE status = 'active'
          AND (phone_number = ${address} OR whatsapp_number = ${address} OR lower(email_address) = lower(${address}))
          LIMIT 1`.pipe(
        Effect.flatMap(decode),
        Effect.map((rows) => Option.fromNullable(rows[0])),
        Effect.orDie,
        Effect.withSpan("AgentsRepo.findByAddress")
      )

    return { find, findByAddress, upsertActive, setWhatsApp, markDeprovisioned } as const
  })
}) {}
