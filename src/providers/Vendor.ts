import type * as HttpClient from "@effect/platform/HttpClient"
import type * as ConfigError from "effect/ConfigError"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { AppConfig } from "../config/AppConfig.ts"
import type { Capability, ProviderAdapter } from "./Adapters.ts"

/**
 * What a vendor's folder exports so that the server can use it without naming it: how its
 * credentials look, where the environment holds them, and how to build its adapter from them.
 */
export interface Vendor {
  readonly name: string
  readonly slot: "telephony" | "email"
  readonly capabilities: ReadonlyArray<Capability>
  /**
   * Validates a credential record (`comms_register_provider`'s `credentials`); the error lists the
   * fields that are wrong, never their values.
   */
  readonly parseCredentials: (raw: Readonly<Record<string, string>>) => Either<Readonly<Record<string, string>>, string>
  /** The credentials in the environment, if any: names the missing variable when only some are set. */
  readonly fromEnv: Effect.Effect<Option.Option<Readonly<Record<string, string>>>, ConfigError.ConfigError>
  /** Builds the adapter (no network call; `health` is the read-only verification). */
  readonly make: (
    credentials: Readonly<Record<string, string>>
  ) => Effect.Effect<ProviderAdapter, ConfigError.ConfigError, AppConfig | HttpClient.HttpClient>
}

export type Either<A, E> = { readonly _tag: "Right"; readonly right: A } | { readonly _tag: "Left"; readonly left: E }

/** Credentials of either source → field names of what is wrong (never values). */
export const parseWith = <A extends { readonly [k: string]: string | undefined }, I>(schema: Schema.Schema<A, I>) =>
(raw: Readonly<Record<string, string>>): { readonly _tag: "Right"; readonly right: Readonly<Record<string, string>> } | { readonly _tag: "Left"; readonly left: string } => {
  const result = Schema.decodeUnknownEither(schema, { errors: "all", onExcessProperty: "error" })(raw)
  if (result._tag === "Right") {
    const right: Record<string, string> = {}
    for (const [k, v] of Object.entries(result.right)) if (typeof v === "string") right[k] = v
    return { _tag: "Right", right }
  }
  const problems = ParseResult.ArrayFormatter.formatErrorSync(result.left).map((i) =>
    `${i.path.join(".") || "credentials"} ${i._tag === "Missing" ? "is missing" : i._tag === "Unexpected" ? "is not a known field" : "has the wrong shape"}`
  )
  return { _tag: "Left", left: [...new Set(problems)].join("; ") }
}

