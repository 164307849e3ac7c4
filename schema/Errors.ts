import * as Schema from "effect/Schema"

/**
 * Errors that cross a boundary (MCP tool results, HTTP responses). Each carries
 * the stable machine `code` clients switch on, and a human message without PII.
 */
export class InvalidInput extends Schema.TaggedError<InvalidInput>()("InvalidInput", {
  message: Schema.String
}) {
  readonly code = "invalid_input"
}

export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", {
  message: Schema.String
}) {
  readonly code = "unauthorized"
}

export class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", {
  message: Schema.String
}) {
  readonly code = "forbidden"
}

export class LockedOut extends Schema.TaggedError<LockedOut>()("LockedOut", {
  message: Schema.String,
  retryAfterSeconds: Schema.Number
}) {
  readonly code = "locked_out"
}

export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", {
  message: Schema.String
}) {
  readonly code = "not_found"
}

export class AlreadyProvisioned extends Schema.TaggedError<AlreadyProvisioned>()("AlreadyProvisioned", {
  message: Schema.String
}) {
  readonly code = "already_provisioned"
}

export class PoolExhausted extends Schema.TaggedError<PoolExhausted>()("PoolExhausted", {
  message: Schema.String,
  maxAgents: Schema.Number
}) {
  readonly code = "pool_exhausted"
}

export class ProviderFailure extends Schema.TaggedError<ProviderFailure>()("ProviderFailure", {
  message: Schema.String,
  provider: Schema.String
}) {
  readonly code = "provider_error"
}

/** Every error a tool may answer with. */
export const ToolError = Schema.Union(
  InvalidInput,
  Unauthorized,
  Forbidden,
  LockedOut,
  NotFound,
  AlreadyProvisioned,
  PoolExhausted,
  ProviderFailure
)
export type ToolError = typeof ToolError.Type

/** The JSON body of a tool error and of an HTTP 4xx: `{ "error": { "code", "message" } }`. */
export const ErrorBody = Schema.Struct({
  error: Schema.Struct({
    code: Schema.String,
    message: Schema.String,
    retryAfterSeconds: Schema.optional(Schema.Number)
  })
})
export type ErrorBody = typeof ErrorBody.Type

export const toErrorBody = (e: ToolError): ErrorBody => ({
  error: {
    code: e.code,
    message: e.message,
    ...(e._tag === "LockedOut" ? { retryAfterSeconds: e.retryAfterSeconds } : {})
  }
})
