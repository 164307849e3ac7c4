import * as Data from "effect/Data"
import { InvalidInput, ProviderAuth, ProviderFailure, ProviderThrottled } from "../../schema/Errors.ts"

/**
 * What kind of failure, as far as callers need to know:
 * - `invalid_input`: the vendor refused the request's content (`field` names ours); nothing was sent
 * - `auth`: the vendor refused our credentials; nothing was sent
 * - `throttled`: the vendor asked us to slow down (`retryAfterSeconds`); nothing was sent
 * - `unavailable`: the vendor could not be reached or answered 5xx; nothing was sent (safe to fail over)
 * - `unknown_outcome`: the request left and no answer came; it may have been carried out (never resend)
 * - `rejected`: every other refusal
 */
export type ProviderErrorKind = "invalid_input" | "auth" | "throttled" | "unavailable" | "unknown_outcome" | "rejected"

/** A provider adapter could not do what was asked. Never carries PII or a credential. */
export class ProviderError extends Data.TaggedError("ProviderError")<{
  readonly provider: string
  readonly operation: string
  readonly reason: string
  readonly kind?: ProviderErrorKind
  /** `invalid_input`: the field of our request the vendor objected to (e.g. "to"). */
  readonly field?: string
  /** `throttled`: seconds to wait before retrying. */
  readonly retryAfterSeconds?: number
  readonly cause?: unknown
}> {
  override get message() {
    return `${this.provider} ${this.operation} failed: ${this.reason}`
  }
}

/** Result of a provider's readiness probe. */
export type ProviderHealth = { readonly status: "ok" } | { readonly status: "error"; readonly reason: string }

/**
 * The tool error for a provider failure: `invalid_input` naming the field, `provider_auth`,
 * `provider_throttled` with its retry-after, else `provider_error`.
 */
export const providerToolError = (e: ProviderError): InvalidInput | ProviderAuth | ProviderThrottled | ProviderFailure => {
  switch (e.kind) {
    case "invalid_input":
      return new InvalidInput({
        message: `${e.field ?? "input"}: refused by the provider (${e.provider}): ${e.reason}`
      })
    case "auth":
      return new ProviderAuth({ provider: e.provider, message: `the provider ${e.provider} refused our credentials` })
    case "throttled":
      return new ProviderThrottled({
        provider: e.provider,
        message: `the provider ${e.provider} is throttling requests; retry later`,
        retryAfterSeconds: e.retryAfterSeconds ?? 1
      })
    default:
      return new ProviderFailure({ provider: e.provider, message: `the provider could not send: ${e.reason}` })
  }
}
