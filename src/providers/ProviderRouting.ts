import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { randomUUID } from "node:crypto"
import type { AgentId } from "../../schema/Ids.ts"
import type { EmailAdapter, TelephonyAdapter } from "./Adapters.ts"
import { EmailProvider } from "./EmailProvider.ts"
import { ProviderError, type ProviderHealth } from "./ProviderError.ts"
import { ProviderRegistry, type Slot } from "./ProviderRegistry.ts"
import { Telephony } from "./Telephony.ts"

/** The prefix of the provisional id of a message whose send outcome is unknown. */
export const PENDING_PREFIX = "pending:"

/** Adds `ref=<id>` to a status-callback URL: the callback then names our send even when its id is unknown. */
export const withRef = (url: string, ref: string): string => `${url}${url.includes("?") ? "&" : "?"}ref=${ref}`

/**
 * The `Telephony` and `EmailProvider` ports served by routing: per action, the adapters that may carry
 * it come from the `ProviderRegistry` (agent override, configured order, registration order), and
 * each is tried in turn while its circuit breaker admits it.
 *
 * Failover is only taken when nothing can have been sent: the provider was unreachable, answered 5xx,
 * or throttled. A refusal of the request (invalid input, auth) is answered as is. When the request
 * left and no answer came (`unknown_outcome`), nothing is resent anywhere: the send is reported
 * `queued` under a provisional `pending:<ref>` id with `outcome: "unknown"`, and the provider's status
 * callback (which carries `ref` in its URL) settles it.
 */
export const ProviderRouting = Layer.effectContext(Effect.gen(function*() {
  const registry = yield* ProviderRegistry

  const carry = <S extends Slot, A>(
    slot: S,
    agentId: AgentId | undefined,
    operation: string,
    attempt: (adapter: S extends "telephony" ? TelephonyAdapter : EmailAdapter) => Effect.Effect<A, ProviderError>,
    onUnknown?: (adapter: S extends "telephony" ? TelephonyAdapter : EmailAdapter) => A
  ): Effect.Effect<A, ProviderError> =>
    Effect.gen(function*() {
      const candidates = yield* registry.chain(slot, agentId)
      let last: ProviderError | undefined
      for (const adapter of candidates) {
        if (!(yield* registry.admit(adapter))) continue
        const exit = yield* Effect.exit(attempt(adapter))
        if (Exit.isSuccess(exit)) {
          yield* registry.succeeded(adapter)
          return exit.value
        }
        const failure = Cause.failureOption(exit.cause)
        if (Option.isNone(failure)) {
          // a defect in the adapter: count it against the provider, then let it surface
          yield* registry.failed(adapter)
          return yield* Effect.failCause(exit.cause as Cause.Cause<never>)
        }
        const e = failure.value
        switch (e.kind) {
          case "unavailable":
            yield* registry.failed(adapter)
            last = e
            continue
          case "unknown_outcome":
            yield* registry.failed(adapter)
            if (onUnknown !== undefined) {
              yield* Effect.logWarning("provider outcome unknown; recorded as pending, not resent").pipe(
                Effect.annotateLogs({ provider: adapter.name, operation })
              )
              return onUnknown(adapter)
            }
            return yield* Effect.fail(e)
          case "throttled":
            yield* registry.succeeded(adapter)
            last = e
            continue
          default:
            yield* registry.succeeded(adapter)
            return yield* Effect.fail(e)
        }
      }
      return yield* Effect.fail(
        last ?? new ProviderError({
          provider: registry.defaultName(slot),
          operation,
          reason: candidates.length === 0 ? "no provider is registered for this slot" : "every provider's circuit is open",
          kind: "unavailable"
        })
      )
    })

  const slotHealth = (slot: Slot): Effect.Effect<ProviderHealth> =>
    Effect.map(registry.status, (all) => {
      const mine = all.filter((p) => p.slot === slot)
      if (mine.length === 0) return { status: "error", reason: "no provider registered" }
      return mine.some((p) => p.up) ? { status: "ok" } : { status: "error", reason: "every provider's circuit is open" }
    })

  const telephony = Telephony.of({
    get provider() {
      return registry.defaultName("telephony")
    },
    provisionNumber: (req) =>
      Effect.gen(function*() {
        const existing = yield* registry.held(req.agentId, "telephony")
        if (Option.isSome(existing)) return { number: existing.value.address, providerRef: existing.value.providerRef }
        const got = yield* carry("telephony", req.agentId, "provision number", (a) =>
          Effect.map(a.provisionNumber(req), (r) => ({ ...r, provider: a.name })))
        yield* registry.recordHeld(req.agentId, "telephony", {
          provider: got.provider,
          address: got.number,
          providerRef: got.providerRef
        })
        return { number: got.number, providerRef: got.providerRef }
      }).pipe(Effect.withSpan("Telephony.provisionNumber")),
    sendMessage: (req) =>
      Effect.suspend(() => {
        const ref = req.correlationId ?? randomUUID()
        const routed = { ...req, correlationId: ref, statusCallbackUrl: withRef(req.statusCallbackUrl, ref) }
        return carry(
          "telephony",
          req.agentId,
          "send message",
          (a) => Effect.map(a.sendMessage(routed), (r) => ({ ...r, provider: a.name })),
          (a) => ({ providerMessageId: PENDING_PREFIX + ref, status: "queued" as const, provider: a.name, outcome: "unknown" as const })
        )
      }).pipe(Effect.withSpan("Telephony.sendMessage")),
    releaseNumber: (agentId) =>
      Effect.gen(function*() {
        const existing = yield* registry.held(agentId, "telephony")
        if (Option.isSome(existing)) {
          const adapter = registry.get("telephony", existing.value.provider)
          if (Option.isNone(adapter)) {
            return yield* new ProviderError({
              provider: existing.value.provider,
              operation: "release number",
              reason: "the provider holding this number is not registered",
              kind: "unavailable"
            })
          }
          yield* adapter.value.releaseNumber(agentId, existing.value)
          return yield* registry.forgetHeld(agentId, "telephony")
        }
        // held before provider_resources existed: every provider releases what it knows of
        for (const a of registry.adapters("telephony")) yield* a.releaseNumber(agentId, undefined)
      }).pipe(Effect.withSpan("Telephony.releaseNumber")),
    health: slotHealth("telephony")
  })

  const email = EmailProvider.of({
    get provider() {
      return registry.defaultName("email")
    },
    provisionAddress: (req) =>
      Effect.gen(function*() {
        const existing = yield* registry.held(req.agentId, "email")
        if (Option.isSome(existing)) return { address: existing.value.address }
        const got = yield* carry("email", req.agentId, "provision address", (a) =>
          Effect.map(a.provisionAddress(req), (r) => ({ ...r, provider: a.name })))
        yield* registry.recordHeld(req.agentId, "email", {
          provider: got.provider,
          address: got.address,
          providerRef: got.providerRef
        })
        return { address: got.address }
      }).pipe(Effect.withSpan("EmailProvider.provisionAddress")),
    send: (req) =>
      Effect.suspend(() => {
        const ref = req.correlationId ?? randomUUID()
        return carry(
          "email",
          req.agentId,
          "send email",
          (a) => Effect.map(a.send({ ...req, correlationId: ref }), (r) => ({ ...r, provider: a.name })),
          (a) => ({ providerMessageId: PENDING_PREFIX + ref, status: "queued" as const, provider: a.name, outcome: "unknown" as const })
        )
      }).pipe(Effect.withSpan("EmailProvider.send")),
    releaseAddress: (agentId) =>
      Effect.gen(function*() {
        const existing = yield* registry.held(agentId, "email")
        if (Option.isSome(existing)) {
          const adapter = registry.get("email", existing.value.provider)
          if (Option.isSome(adapter)) yield* adapter.value.releaseAddress(agentId, existing.value)
          return yield* registry.forgetHeld(agentId, "email")
        }
        for (const a of registry.adapters("email")) yield* a.releaseAddress(agentId, undefined)
      }).pipe(Effect.withSpan("EmailProvider.releaseAddress")),
    health: slotHealth("email")
  })

  return Context.make(Telephony, telephony).pipe(Context.add(EmailProvider, email))
}))
