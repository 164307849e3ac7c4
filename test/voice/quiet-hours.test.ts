/**
 * Quiet hours need a clock: on a TestClock set to 03:00 in New York, a call
 * to a New York number is refused with quiet_hours before anything is
 * dialled.
 */
import { describe, expect, layer } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { TestDomain } from "../../layers/Test.ts"
import { AgentId } from "../../schema/Ids.ts"
import { toErrorBody } from "../../schema/Errors.ts"
import { VoiceCalls } from "../../src/voice/VoiceCalls.ts"
import { provisionAgent } from "../support/agents.ts"

describe("comms_make_call and quiet hours", () => {
  layer(TestDomain({ env: { TCPA_QUIET_HOURS: "enforce", INITIAL_AGENT_POOL_SIZE: "4" } }), { timeout: 60_000 })((it) => {
    it.effect("03:00 at the callee: quiet_hours, nothing dialled", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(Date.parse("2026-01-15T08:00:00Z")) // 03:00 in New York
        yield* provisionAgent("night-owl", { capabilities: { phone: true, whatsapp: false, email: false, voiceAi: true } })
        const voice = yield* VoiceCalls
        const sql = yield* SqlClient.SqlClient
        const refused = yield* Effect.flip(voice.makeCall(AgentId.make("night-owl"), {
          agentId: AgentId.make("night-owl"),
          to: "+12125550142",
          context: "a reminder",
          maxDurationMinutes: 5
        }))
        expect(toErrorBody(refused).error.code).toBe("quiet_hours")
        expect(toErrorBody(refused).error.retryAfterSeconds).toBe(5 * 3600)
        expect(yield* sql`SELECT count(*)::int AS n FROM call_logs`).toEqual([{ n: 0 }])
      }))
  })
})
