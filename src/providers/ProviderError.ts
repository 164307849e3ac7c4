import * as Data from "effect/Data"

/** A provider adapter could not do what was asked. Never carries PII. */
export class ProviderError extends Data.TaggedError("ProviderError")<{
  readonly provider: string
  readonly operation: string
  readonly reason: string
  /** The request left and no answer came back: it may have taken effect (never resend blindly). */
  readonly unknownOutcome?: boolean
  readonly cause?: unknown
}> {
  override get message() {
    return `${this.provider} ${this.operation} failed: ${this.reason}`
  }
}

/** Result of a provider's readiness probe. */
export type ProviderHealth = { readonly status: "ok" } | { readonly status: "error"; readonly reason: string }
