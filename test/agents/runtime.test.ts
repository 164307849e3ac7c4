import { describe, expect, layer } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { AgentId } from "../../schema/Ids.ts"
import { SandboxLive } from "../../layers/Sandbox.ts"
import { TestDomain } from "../../layers/Test.ts"
import { AgentRuntime } from "../../src/agents/AgentRuntime.ts"
import { GetStatus, InboundAccepted, SendMessage, SetLimits } from "../../src/agents/Commands.ts"
import { Erasure } from "../../src/messaging/Erasure.ts"
import { Telephony } from "../../src/providers/Telephony.ts"
import { provisionAgent } from "../support/agents.ts"

/**
 * The provider's side of the test: sends to numbers in `held` wait until the test opens the gate
 * of that number; every call that reached the provider is recorded in order. One per runtime.
 */
const gatedTelephony = () => {
  const reached: Array<string> = []
  const gates = new Map<string, Deferred.Deferred<void>>()
  const layer = Layer.effect(
    Telephony,
    Effect.map(Telephony, (inner) =>
      Telephony.of({
        ...inner,
        sendMessage: (req) =>
          Effect.gen(function*() {
            reached.push(`${req.to}:${req.body}`)
            const gate = gates.get(req.to)
            if (gate !== undefined) yield* Deferred.await(gate)
            return yield* inner.sendMessage(req)
          })
      }))
  ).pipe(Layer.provide(SandboxLive))
  return { reached, gates, layer }
}

const id = AgentId.make
const send = (agent: string, to: string, body: string) =>
  Effect.flatMap(AgentRuntime, (r) => r.send(id(agent), new SendMessage({ to, channel: "sms", body })))
const status = (agent: string) => Effect.flatMap(AgentRuntime, (r) => r.send(id(agent), new GetStatus()))
const inbound = (agent: string, from: string, body: string, channel: "sms" | "whatsapp" = "sms") =>
  Effect.flatMap(AgentRuntime, (r) => r.send(id(agent), new InboundAccepted({ channel, from, body, replay: false })))

/** Waits (real time, bounded) until `check` holds. */
const eventually = <A, E>(check: Effect.Effect<A, E>, ok: (a: A) => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 100; i++) {
      const a = yield* check
      if (ok(a)) return a
      yield* Effect.sleep("20 millis")
    }
    return yield* check
  })

describe.each(["inprocess", "cluster"])("agent runtime (%s): the mailbox never waits on a vendor; every per-agent effect goes through the actor", (runtime) => {
  const { reached, gates, layer: GatedTelephony } = gatedTelephony()
  layer(
    TestDomain({
      env: { INITIAL_AGENT_POOL_SIZE: "20", DEFAULT_MAX_MESSAGES_PER_DAY_SAME_CONTACT: "2", AGENT_RUNTIME: runtime },
      providers: Layer.merge(SandboxLive, GatedTelephony)
    }),
    { timeout: 60_000, excludeTestServices: true }
  )((it) => {
    it.effect("a send held at the provider does not delay a status read of the same agent", () =>
      Effect.gen(function*() {
        yield* provisionAgent("rt-slow")
        const to = "+12025550140"
        const gate = yield* Deferred.make<void>()
        gates.set(to, gate)
        const sending = yield* Effect.fork(send("rt-slow", to, "slow vendor"))
        yield* eventually(Effect.sync(() => reached.includes(`${to}:slow vendor`)), (x) => x)
        // the provider holds the send; the agent's mailbox is free
        const read = yield* status("rt-slow")
        expect(read.agentId).toBe("rt-slow")
        expect(read.rateLimits.actionsThisMinute).toBe(1)
        expect(yield* Fiber.poll(sending)).toEqual(Option.none())
        yield* Deferred.succeed(gate, undefined)
        expect((yield* Fiber.join(sending)).status).toBe("queued")
      }))

    it.effect("a 2 s provider: the status read answers long before the send does", () =>
      Effect.gen(function*() {
        yield* provisionAgent("rt-2s")
        const to = "+12025550141"
        const gate = yield* Deferred.make<void>()
        gates.set(to, gate)
        yield* Effect.fork(Effect.delay(Deferred.succeed(gate, undefined), "2 seconds"))
        const started = Date.now()
        const sending = yield* Effect.fork(send("rt-2s", to, "two seconds"))
        yield* eventually(Effect.sync(() => reached.includes(`${to}:two seconds`)), (x) => x)
        yield* status("rt-2s")
        const statusMs = Date.now() - started
        yield* Fiber.join(sending)
        const sendMs = Date.now() - started
        expect(sendMs).toBeGreaterThanOrEqual(1900)
        expect(statusMs).toBeLessThan(sendMs - 1000)
      }))

    it.effect("sends to one recipient keep their order at the provider; other recipients go meanwhile", () =>
      Effect.gen(function*() {
        yield* provisionAgent("rt-order")
        const a = "+12025550142"
        const b = "+12025550143"
        const gate = yield* Deferred.make<void>()
        gates.set(a, gate)
        const first = yield* Effect.fork(send("rt-order", a, "first"))
        yield* eventually(Effect.sync(() => reached.includes(`${a}:first`)), (x) => x)
        const second = yield* Effect.fork(send("rt-order", a, "second"))
        // a different recipient is not held behind the first
        expect((yield* send("rt-order", b, "other")).status).toBe("queued")
        expect(reached).not.toContain(`${a}:second`)
        yield* Deferred.succeed(gate, undefined)
        yield* Fiber.join(first)
        yield* Fiber.join(second)
        const order = reached.filter((r) => r.startsWith(a))
        expect(order).toEqual([`${a}:first`, `${a}:second`])
      }))

    it.effect("STOP: opt-out applied, the confirmation is a metered send (usage_logs, rate window), even to the opted-out contact", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        yield* provisionAgent("rt-stop")
        const person = "+12025550144"
        yield* inbound("rt-stop", person, "STOP")
        const logged = yield* eventually(
          sql`SELECT action_type, metadata FROM usage_logs WHERE agent_id = 'rt-stop'`,
          (rows) => rows.length > 0
        )
        expect(logged).toHaveLength(1)
        expect(logged[0]?.["actionType"]).toBe("send_sms")
        expect(JSON.stringify(logged[0]?.["metadata"])).toContain("keywordReply")
        expect((yield* status("rt-stop")).rateLimits.actionsThisMinute).toBe(1)
        const out = yield* sql`SELECT body FROM sandbox_outbox WHERE to_address = ${person}`
        expect(out).toHaveLength(1)
        // the contact is opted out of everything else
        const refused = yield* Effect.exit(send("rt-stop", person, "promo"))
        expect(Exit.isFailure(refused) && refused.cause._tag === "Fail" && refused.cause.error._tag).toBe("OptedOut")
        // a second STOP within the hour is applied but not confirmed again
        yield* inbound("rt-stop", person, "STOP")
        yield* Effect.sleep("100 millis")
        expect(yield* sql`SELECT id FROM usage_logs WHERE agent_id = 'rt-stop'`).toHaveLength(1)
      }))

    it.effect("keyword replies are never exempt from the rate windows", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const runtime = yield* AgentRuntime
        yield* provisionAgent("rt-help")
        yield* runtime.send(id("rt-help"), new SetLimits({ patch: { maxActionsPerMinute: 1 }, actor: "master" }))
        expect((yield* send("rt-help", "+12025550145", "uses the only slot")).status).toBe("queued")
        yield* inbound("rt-help", "+12025550146", "HELP")
        yield* Effect.sleep("100 millis")
        expect(yield* sql`SELECT id FROM sandbox_outbox WHERE to_address = '+12025550146'`).toEqual([])
        expect(yield* sql`SELECT id FROM usage_logs WHERE agent_id = 'rt-help'`).toHaveLength(1)
      }))

    it.effect("erasure leaves no trace of the contact in the live actor (per-contact counts, WhatsApp window)", () =>
      Effect.gen(function*() {
        const erasure = yield* Erasure
        yield* provisionAgent("rt-erase", { capabilities: { phone: true, whatsapp: true, email: false, voiceAi: false } })
        const person = "+12025550147"
        const runtime = yield* AgentRuntime
        const wa = (body: string) =>
          runtime.send(id("rt-erase"), new SendMessage({ to: person, channel: "whatsapp", body }))
        yield* inbound("rt-erase", person, "hi on whatsapp", "whatsapp")
        // the contact opened the 24-hour window (actor state)
        expect(yield* Effect.exit(wa("free text"))).toMatchObject({ _tag: "Success" })
        expect((yield* send("rt-erase", person, "two")).status).toBe("queued")
        // the per-contact daily cap (2, every channel) is reached
        const capped = yield* Effect.exit(send("rt-erase", person, "three"))
        expect(Exit.isFailure(capped) && capped.cause._tag === "Fail" && capped.cause.error._tag).toBe("ContactLimit")

        yield* erasure.eraseContact(person, "admin")
        // the live actor (not reloaded) no longer counts the contact...
        expect(yield* runtime.activeAgents).toContain("rt-erase")
        expect((yield* send("rt-erase", person, "after erasure")).status).toBe("queued")
        // ...and no longer holds their WhatsApp window
        const closed = yield* Effect.exit(wa("free text again"))
        expect(Exit.isFailure(closed) && closed.cause._tag === "Fail" && closed.cause.error._tag).toBe(
          "WhatsAppTemplateRequired"
        )
      }))
  })
})
