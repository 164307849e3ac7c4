/**
 * Failover through the real Twilio SDK against two emulators: the primary answers 503, its breaker
 * opens after N failures, the secondary carries every message exactly once, and once the primary is
 * healthy the half-open probe after the cool-down restores it. A send whose outcome is unknown (the
 * request left, no answer) is never resent to anyone.
 */
import { afterAll, describe, expect, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import { TestDomain } from "../../layers/Test.ts"
import { AgentId } from "../../schema/Ids.ts"
import { InvalidInput, ProviderAuth, ProviderThrottled } from "../../schema/Errors.ts"
import { ProviderError, providerToolError } from "../../src/providers/ProviderError.ts"
import { ProviderRegistry } from "../../src/providers/ProviderRegistry.ts"
import { Telephony } from "../../src/providers/Telephony.ts"
import { makeTwilio } from "../../src/providers/twilio/TwilioAdapter.ts"
import { startTwilioEmulator, type TwilioEmulator } from "../emulators/twilio/TwilioEmulator.ts"

const primary = await startTwilioEmulator()
const secondary = await startTwilioEmulator()
afterAll(() => Promise.all([primary.close(), secondary.close()]))
primary.callbacks = false
secondary.callbacks = false

const adapter = (name: string, e: TwilioEmulator) => ({
  ...makeTwilio({ accountSid: e.accountSid, authToken: Redacted.make(e.authToken) }, { apiBaseUrl: e.url, timeoutMs: 500 }),
  name
})

const agentId = AgentId.make("failover-agent")
const send = (body: string) =>
  Effect.flatMap(Telephony, (t) =>
    t.sendMessage({
      agentId,
      channel: "sms",
      from: "+14155550100",
      to: "+12025550123",
      body,
      media: [],
      statusCallbackUrl: "http://127.0.0.1:9/webhooks/failover-agent/message-status"
    }))

const sendsTo = (e: TwilioEmulator) => e.requests.filter((r) => r.method === "POST" && r.path.endsWith("/Messages.json")).length

describe("provider failover", () => {
  layer(TestDomain({
    env: { DEMO_MODE: "true", PROVIDER_TELEPHONY: "primary,secondary", PROVIDER_BREAKER_THRESHOLD: "3", PROVIDER_BREAKER_COOLDOWN_SECONDS: "30" }
  }), { timeout: 30_000 })((it) => {
    it.effect("503s open the primary's breaker; the secondary carries each message once; the probe restores the primary", () =>
      Effect.gen(function*() {
        const registry = yield* ProviderRegistry
        yield* registry.register(adapter("primary", primary))
        yield* registry.register(adapter("secondary", secondary))

        primary.faults.failAll = true
        primary.faults.failStatus = 503
        for (let i = 0; i < 5; i++) {
          const sent = yield* send(`failover ${i}`)
          expect(sent.provider).toBe("secondary")
        }
        // three 503s opened the breaker: the last two sends did not even try the primary
        expect(sendsTo(primary)).toBe(3)
        expect(primary.messages).toHaveLength(0)
        expect(secondary.messages.map((m) => m.body)).toEqual([0, 1, 2, 3, 4].map((i) => `failover ${i}`))
        const down = yield* registry.status
        expect(down.find((p) => p.name === "primary")?.up).toBe(false)

        // the primary recovers; after the cool-down one probe goes to it and closes the breaker
        primary.faults.failAll = false
        expect((yield* send("still open")).provider).toBe("secondary")
        yield* TestClock.adjust("31 seconds")
        expect((yield* send("probe")).provider).toBe("primary")
        expect((yield* send("after")).provider).toBe("primary")
        expect(primary.messages.map((m) => m.body)).toEqual(["probe", "after"])
        expect((yield* registry.status).find((p) => p.name === "primary")?.up).toBe(true)
      }))

    it.effect("an unknown outcome (no answer) is recorded as pending and never resent to the secondary", () =>
      Effect.gen(function*() {
        const before = secondary.messages.length
        primary.faults.hangNext = 1
        const sent = yield* send("maybe sent")
        expect(sent).toMatchObject({ status: "queued", outcome: "unknown", provider: "primary" })
        expect(sent.providerMessageId).toMatch(/^pending:[0-9a-f-]{36}$/)
        expect(secondary.messages.length).toBe(before)
      }))

    it.effect("vendor errors map to typed errors: 21211 names the field, 20003 is provider_auth, 20429 is throttled with retry-after", () =>
      Effect.gen(function*() {
        const errorFor = (code: number, status: number, retryAfter?: number) =>
          Effect.gen(function*() {
            primary.nextError = { code, status, ...(retryAfter !== undefined ? { retryAfter } : {}) }
            // the adapter itself (through routing, a throttled provider would fail over to the next one)
            return yield* Effect.flip(adapter("primary", primary).sendMessage({
              agentId, channel: "sms", from: "+14155550100", to: "+12025550123", body: "refused", media: [],
              statusCallbackUrl: "http://127.0.0.1:9/cb"
            }))
          })
        const invalid = yield* errorFor(21211, 400)
        expect(invalid).toBeInstanceOf(ProviderError)
        expect(invalid).toMatchObject({ kind: "invalid_input", field: "to" })
        const tool = providerToolError(invalid)
        expect(tool).toBeInstanceOf(InvalidInput)
        expect(tool.message).toMatch(/^to: /)
        const auth = yield* errorFor(20003, 401)
        expect(providerToolError(auth)).toBeInstanceOf(ProviderAuth)
        const throttled = yield* errorFor(20429, 429, 7)
        const t = providerToolError(throttled)
        expect(t).toBeInstanceOf(ProviderThrottled)
        expect(t).toMatchObject({ code: "provider_throttled", retryAfterSeconds: 7 })
      }))
  })
})
