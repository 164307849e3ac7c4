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

/** The provider refused our credentials (wrong or revoked); nothing was sent. */
export class ProviderAuth extends Schema.TaggedError<ProviderAuth>()("ProviderAuth", {
  message: Schema.String,
  provider: Schema.String
}) {
  readonly code = "provider_auth"
}

/** The provider is throttling us; nothing was sent; retry after `retryAfterSeconds`. */
export class ProviderThrottled extends Schema.TaggedError<ProviderThrottled>()("ProviderThrottled", {
  message: Schema.String,
  provider: Schema.String,
  retryAfterSeconds: Schema.Number
}) {
  readonly code = "provider_throttled"
}

/** The outbound body was refused by the content filter; nothing was sent. */
export class ContentBlocked extends Schema.TaggedError<ContentBlocked>()("ContentBlocked", {
  message: Schema.String,
  category: Schema.String
}) {
  readonly code = "content_blocked"
}

/** WhatsApp outside the 24-hour customer-service window needs an approved template. */
export class WhatsAppTemplateRequired extends Schema.TaggedError<WhatsAppTemplateRequired>()("WhatsAppTemplateRequired", {
  message: Schema.String
}) {
  readonly code = "whatsapp_template_required"
}

/** The recipient is on a do-not-call list (national registry import or our own). */
export class DncListed extends Schema.TaggedError<DncListed>()("DncListed", { message: Schema.String }) {
  readonly code = "dnc_listed"
}

/** Outside 08:00-21:00 in the recipient's local time (TCPA). */
export class QuietHours extends Schema.TaggedError<QuietHours>()("QuietHours", {
  message: Schema.String,
  retryAfterSeconds: Schema.Number
}) {
  readonly code = "quiet_hours"
}

/** The contact opted out of this agent (STOP and friends). */
export class OptedOut extends Schema.TaggedError<OptedOut>()("OptedOut", { message: Schema.String }) {
  readonly code = "opted_out"
}

/** Anti-harassment: too many contacts of the same recipient today. */
export class ContactLimit extends Schema.TaggedError<ContactLimit>()("ContactLimit", {
  message: Schema.String,
  retryAfterSeconds: Schema.Number
}) {
  readonly code = "contact_limit"
}

/**
 * An action refused by a rate window or a spending cap. The send tools answer
 * it as the spec's `status: "rate_limited"` output, with the retry-after.
 */
export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {
  message: Schema.String,
  /** Which window or cap: per_minute | per_hour | per_day | spend_per_day | spend_per_month. */
  reason: Schema.Literal("per_minute", "per_hour", "per_day", "spend_per_day", "spend_per_month"),
  retryAfterSeconds: Schema.Number,
  /** Actions left for this agent now (0: this limit is exhausted). */
  remaining: Schema.Number
}) {
  readonly code = "rate_limited"
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
  ProviderFailure,
  ProviderAuth,
  ProviderThrottled,
  ContentBlocked,
  WhatsAppTemplateRequired,
  DncListed,
  QuietHours,
  OptedOut,
  ContactLimit,
  RateLimited
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
    ...("retryAfterSeconds" in e ? { retryAfterSeconds: e.retryAfterSeconds } : {})
  }
})
