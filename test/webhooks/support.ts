/**
 * Helpers shared by the webhook tests: run an Effect and classify its outcome, and build real
 * multipart bytes with the runtime's own FormData encoder.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { expect } from "vitest"
import { INTERNAL_PROBLEM, WebhookParseError } from "../../src/webhooks/parse.ts"

export type Outcome<A> = { readonly _tag: "ok"; readonly value: A } | { readonly _tag: "error"; readonly error: WebhookParseError }

/**
 * Runs the effect and asserts it either succeeded or failed with a `WebhookParseError` that is not an
 * internal error: no throw, no rejection, no defect.
 */
export const outcome = async <A>(effect: Effect.Effect<A, WebhookParseError>): Promise<Outcome<A>> => {
  const exit = await Effect.runPromiseExit(effect)
  if (Exit.isSuccess(exit)) return { _tag: "ok", value: exit.value }
  const failure = Cause.failureOption(exit.cause)
  if (Option.isNone(failure)) throw new Error(`not a typed failure: ${Cause.pretty(exit.cause)}`)
  expect(failure.value).toBeInstanceOf(WebhookParseError)
  expect(failure.value.code).toBe("invalid_webhook")
  expect(failure.value.problems).not.toContain(INTERNAL_PROBLEM)
  return { _tag: "error", error: failure.value }
}

export const expectError = async <A>(effect: Effect.Effect<A, WebhookParseError>): Promise<WebhookParseError> => {
  const result = await outcome(effect)
  if (result._tag === "ok") throw new Error(`expected a WebhookParseError, got ${JSON.stringify(result.value)}`)
  return result.error
}

/** Encodes a FormData the way a real client would: bytes plus the content type carrying the boundary. */
export const encodeMultipart = async (form: FormData): Promise<{ body: Uint8Array; contentType: string }> => {
  const request = new Request("https://example.test/webhooks/agent-1/email", { method: "POST", body: form })
  const contentType = request.headers.get("content-type")
  if (contentType === null) throw new Error("FormData request has no content type")
  return { body: new Uint8Array(await request.arrayBuffer()), contentType }
}

/** Builds a raw multipart body by hand (for shapes FormData cannot produce). */
export const rawMultipart = (
  boundary: string,
  parts: ReadonlyArray<{ readonly headers: ReadonlyArray<string>; readonly body: string }>
): Uint8Array =>
  new TextEncoder().encode(
    parts.map((p) => `--${boundary}\r\n${p.headers.join("\r\n")}\r\n\r\n${p.body}\r\n`).join("") + `--${boundary}--\r\n`
  )
