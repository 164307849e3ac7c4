import * as Schema from "effect/Schema"
import { SecurityTokenField } from "../Domain.ts"

/** `comms_register_provider` (spec tool 11). Credential values are checked by the handler, never echoed. */
export const RegisterProviderInput = Schema.Struct({
  securityToken: SecurityTokenField,
  provider: Schema.String.pipe(Schema.pattern(/^[a-z][a-z0-9_-]{0,39}$/, { message: () => "must be a provider name such as a vendor's, lower-case" }))
    .annotations({ description: "The provider to register (see docs/PROVIDERS.md for names)" }),
  credentials: Schema.Record({ key: Schema.String.pipe(Schema.maxLength(64)), value: Schema.Unknown })
    .annotations({ description: "Provider-specific credential fields, all strings (e.g. accountSid and authToken)" }),
  autoVerify: Schema.optional(Schema.Boolean.annotations({
    description: "Verify with a read-only call to the provider before storing (default true)"
  }))
})
export type RegisterProviderInput = typeof RegisterProviderInput.Type

export const RegisterProviderOutput = Schema.Struct({
  provider: Schema.String,
  status: Schema.Literal("active", "invalid_credentials", "pending_verification"),
  capabilities: Schema.Array(Schema.String)
})
export type RegisterProviderOutput = typeof RegisterProviderOutput.Type
