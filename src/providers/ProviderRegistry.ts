import * as SqlClient from "@effect/sql/SqlClient"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as SynchronizedRef from "effect/SynchronizedRef"
import { ProviderOverrides } from "../../schema/Domain.ts"
import type { AgentId } from "../../schema/Ids.ts"
import { AppConfig } from "../config/AppConfig.ts"
import type { EmailAdapter, ProviderAdapter, TelephonyAdapter } from "./Adapters.ts"
import * as Breaker from "./CircuitBreaker.ts"

export type Slot = "telephony" | "email"
type AdapterOf<S extends Slot> = S extends "telephony" ? TelephonyAdapter : EmailAdapter

/** 1 while a provider is registered and its breaker is not open, else 0. */
export const providerUp = Metric.gauge("comms_provider_up", {
  description: "1 when the provider is registered and its circuit breaker is not open"
})

const HeldRow = Schema.Struct({ provider: Schema.String, address: Schema.String, providerRef: Schema.String })
const OverridesRow = Schema.Struct({
  providerOverrides: Schema.NullOr(Schema.Union(ProviderOverrides, Schema.parseJson(ProviderOverrides)))
})

export interface ProviderStatus {
  readonly name: string
  readonly slot: Slot
  readonly up: boolean
}

/**
 * The providers this server can use, keyed by name: registered at boot (sandbox, or the vendors whose
 * credentials are in the environment or sealed in `provider_credentials`) and at runtime by
 * `comms_register_provider`. It answers, per action, which adapters may carry it and in which order
 * (the agent's `providerOverrides` first, then `PROVIDER_TELEPHONY` / `PROVIDER_EMAIL`, then the rest in
 * registration order), owns a circuit breaker per provider, and remembers which provider holds each
 * agent's number and inbox (`provider_resources`).
 */
export class ProviderRegistry extends Effect.Service<ProviderRegistry>()("app/providers/ProviderRegistry", {
  effect: Effect.gen(function*() {
    const config = yield* AppConfig
    const sql = yield* SqlClient.SqlClient
    const policy: Breaker.BreakerPolicy = {
      threshold: config.providerBreakerThreshold,
      cooldownMs: 1000 * config.providerBreakerCooldownSeconds
    }
    const adapters = new Map<string, ProviderAdapter>()
    const breakers = yield* SynchronizedRef.make(new Map<string, Breaker.BreakerState>())
    const defaults: Record<Slot, ReadonlyArray<string>> = {
      telephony: Option.getOrElse(config.providerTelephony, () => []),
      email: Option.getOrElse(config.providerEmail, () => [])
    }
    const decodeHeld = Schema.decodeUnknown(Schema.Array(HeldRow))
    const decodeOverrides = Schema.decodeUnknown(Schema.Array(OverridesRow))

    const gauge = (name: string, up: boolean) => Metric.set(Metric.tagged(providerUp, "provider", name), up ? 1 : 0)

    /** Adapters and breakers are keyed `<slot>/<name>`: one vendor may serve both slots. */
    const key = (slot: Slot, name: string) => `${slot}/${name}`

    const register = (adapter: ProviderAdapter) =>
      Effect.gen(function*() {
        const k = key(adapter.slot, adapter.name)
        adapters.delete(k)
        adapters.set(k, adapter)
        yield* SynchronizedRef.update(breakers, (m) => new Map(m).set(k, Breaker.closed))
        yield* gauge(adapter.name, true)
      })

    const ofSlot = <S extends Slot>(slot: S): ReadonlyArray<AdapterOf<S>> =>
      [...adapters.values()].filter((a): a is AdapterOf<S> => a.slot === slot)

    const get = <S extends Slot>(slot: S, name: string): Option.Option<AdapterOf<S>> => {
      const a = adapters.get(key(slot, name))
      return a !== undefined && a.slot === slot ? Option.some(a as AdapterOf<S>) : Option.none()
    }

    const overrideOf = (agentId: AgentId, slot: Slot) =>
      sql`SELECT provider_overrides FROM agent_channels WHERE agent_id = ${agentId}`.pipe(
        Effect.flatMap(decodeOverrides),
        Effect.map((rows) => Option.fromNullable(rows[0]?.providerOverrides?.[slot])),
        Effect.orDie
      )

    /** The adapters that may carry an action of `agentId`, in order. */
    const chain = <S extends Slot>(slot: S, agentId: AgentId | undefined) =>
      Effect.gen(function*() {
        const override = agentId === undefined ? Option.none<string>() : yield* overrideOf(agentId, slot)
        const names = [...Option.toArray(override), ...defaults[slot], ...ofSlot(slot).map((a) => a.name)]
        const out: Array<AdapterOf<S>> = []
        for (const name of new Set(names)) {
          const a = get(slot, name)
          if (Option.isSome(a)) out.push(a.value)
        }
        return out as ReadonlyArray<AdapterOf<S>>
      })

    const kindOf = (slot: Slot) => (slot === "telephony" ? "phone" : "email")

    const held = (agentId: AgentId, slot: Slot) =>
      sql`SELECT provider, address, provider_ref FROM provider_resources
          WHERE agent_id = ${agentId} AND kind = ${kindOf(slot)}`.pipe(
        Effect.flatMap(decodeHeld),
        Effect.map((rows) => Option.fromNullable(rows[0])),
        Effect.orDie
      )

    const recordHeld = (agentId: AgentId, slot: Slot, row: typeof HeldRow.Type) =>
      sql`INSERT INTO provider_resources ${sql.insert({ agentId, kind: kindOf(slot), ...row })}
          ON CONFLICT (agent_id, kind) DO UPDATE SET provider = EXCLUDED.provider, address = EXCLUDED.address,
          provider_ref = EXCLUDED.provider_ref`.pipe(Effect.asVoid, Effect.orDie)

    const forgetHeld = (agentId: AgentId, slot: Slot) =>
      sql`DELETE FROM provider_resources WHERE agent_id = ${agentId} AND kind = ${kindOf(slot)}`.pipe(
        Effect.asVoid,
        Effect.orDie
      )

    /** Adapters to try for a webhook of `agentId`: the one holding its address first, then its chain. */
    const webhookCandidates = <S extends Slot>(slot: S, agentId: AgentId | undefined) =>
      Effect.gen(function*() {
        const holder = agentId === undefined ? Option.none() : yield* held(agentId, slot)
        const first = Option.flatMap(holder, (h) => get(slot, h.provider))
        const rest = yield* chain(slot, agentId)
        return [...new Set([...Option.toArray(first), ...rest, ...ofSlot(slot)])]
      })

    const admit = (adapter: ProviderAdapter) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        SynchronizedRef.modify(breakers, (m) => {
          const k = key(adapter.slot, adapter.name)
          const [ok, next] = Breaker.admit(m.get(k) ?? Breaker.closed, now)
          return [ok, new Map(m).set(k, next)]
        }))

    const settle = (adapter: ProviderAdapter, ok: boolean) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const name = adapter.name
        const k = key(adapter.slot, name)
        const next = yield* SynchronizedRef.modify(breakers, (m) => {
          const current = m.get(k) ?? Breaker.closed
          const after = ok ? Breaker.onSuccess(current) : Breaker.onFailure(current, now, policy)
          return [after, new Map(m).set(k, after)]
        })
        yield* gauge(name, Breaker.isUp(next, now))
        if (!ok && next._tag === "open") {
          yield* Effect.logWarning("provider circuit opened").pipe(Effect.annotateLogs({ provider: name }))
        }
      })

    const status = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const m = yield* SynchronizedRef.get(breakers)
      return [...adapters.values()].map((a): ProviderStatus => ({
        name: a.name,
        slot: a.slot,
        up: Breaker.isUp(m.get(key(a.slot, a.name)) ?? Breaker.closed, now)
      }))
    })

    return {
      register,
      get,
      adapters: ofSlot,
      chain,
      held,
      recordHeld,
      forgetHeld,
      webhookCandidates,
      admit,
      succeeded: (adapter: ProviderAdapter) => settle(adapter, true),
      failed: (adapter: ProviderAdapter) => settle(adapter, false),
      status,
      /** The name business code sees as the slot's provider: the configured primary, else the first registered. */
      defaultName: (slot: Slot): string => defaults[slot].find((n) => adapters.has(key(slot, n))) ?? ofSlot(slot)[0]?.name ?? "none"
    } as const
  })
}) {}
