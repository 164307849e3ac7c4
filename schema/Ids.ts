import * as Schema from "effect/Schema"

/** An agent's identifier, chosen by the orchestrator. Safe in URLs, logs and file names. */
export const AgentId = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, {
    message: () => "agentId must be 1-64 characters: letters, digits, '.', '_' or '-', starting with a letter or digit"
  }),
  Schema.brand("AgentId"),
  Schema.annotations({ description: "Unique agent identifier (1-64 chars: A-Z a-z 0-9 . _ -)" })
)
export type AgentId = typeof AgentId.Type

/** An E.164 phone number: '+', country code, subscriber number, 8-15 digits in all. */
export const E164 = Schema.String.pipe(
  Schema.pattern(/^\+[1-9]\d{7,14}$/, { message: () => "expected an E.164 phone number such as +12025550142" }),
  Schema.brand("E164")
)
export type E164 = typeof E164.Type

/** ISO 3166-1 alpha-2 country code. */
export const CountryCode = Schema.String.pipe(
  Schema.pattern(/^[A-Z]{2}$/, { message: () => "country must be an ISO 3166-1 alpha-2 code such as \"US\"" }),
  Schema.annotations({ description: "ISO 3166-1 alpha-2 country code, e.g. US, IL" })
)
