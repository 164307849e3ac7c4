/**
 * The Media Streams path, selected by VOICE_ORCHESTRATOR=media_streams:
 * synthesized speech (μ-law frames as Twilio sends them) → Deepgram live STT
 * (the official SDK against a local emulator) → the same CallSession → the
 * answer spoken back as μ-law `media` frames.
 */
import { afterAll, describe, expect, layer } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import WebSocket from "ws"
import { twilioMedia } from "../../src/providers/twilio/MediaStreams.ts"
import { frames, toneMulaw } from "../../src/voice/Audio.ts"
import { baseUrl, callTool, MASTER, mcpClient, provisionArgs, serverLayer } from "../support/server.ts"
import { startDeepgramEmulator } from "../emulators/deepgram/server.ts"
import { callSid, inboundCall, SANDBOX_AUTH_TOKEN, sleep } from "./support.ts"

const deepgram = await startDeepgramEmulator({ transcript: "book a table for two", bytesPerUtterance: 4000 })
afterAll(() => deepgram.close())

describe("Media Streams voice path", () => {
  layer(
    serverLayer({
      SANDBOX_AUTH_TOKEN,
      INITIAL_AGENT_POOL_SIZE: "3",
      VOICE_ORCHESTRATOR: "media_streams",
      STT_PROVIDER: "deepgram",
      DEEPGRAM_API_KEY: "dg-test-key",
      DEEPGRAM_BASE_URL: deepgram.baseUrl,
      SANDBOX_LLM_TOKEN_DELAY_MS: "0"
    }),
    { timeout: 90_000, excludeTestServices: true }
  )((it) => {
    it.scoped("synthesized speech becomes a prompt; the answer comes back as μ-law media frames", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const sql = yield* SqlClient.SqlClient
        const master = yield* mcpClient(url, MASTER)
        const out = yield* callTool(master, "comms_provision_channels", provisionArgs("media-a", { systemPrompt: "You are Ada, a host." }))
        const number = (out.json["channels"] as { phone: { number: string } }).phone.number
        const sid = callSid()
        const answer = yield* inboundCall(url, "media-a", { CallSid: sid, From: "+12025550177", To: number })
        expect(answer.text).toContain("<Connect")
        expect(answer.text).toContain("<Stream url=\"ws://127.0.0.1:")
        if (answer.verb._tag !== "Stream") throw new Error("expected <Stream>")
        const streamUrl = answer.verb.url
        expect(streamUrl).toContain("/webhooks/media-a/media-ws?token=")

        const received: Array<{ event: string; media?: { payload: string } }> = []
        const ws = yield* Effect.promise(() =>
          new Promise<WebSocket>((resolve, reject) => {
            const s = new WebSocket(streamUrl)
            s.on("message", (d) => received.push(JSON.parse(d.toString())))
            s.once("open", () => resolve(s))
            s.once("error", reject)
          }))
        const streamSid = "MZ" + "1".repeat(32)
        ws.send(twilioMedia.connected())
        ws.send(twilioMedia.start(streamSid, sid))
        // 0.5 s of "speech" (a synthesized tone), in 20 ms frames, then silence
        const speech = frames(toneMulaw(0.5))
        speech.forEach((f, i) => ws.send(twilioMedia.media(streamSid, i, f)))
        const silence = frames(new Uint8Array(2000).fill(0xff))
        silence.forEach((f, i) => ws.send(twilioMedia.media(streamSid, speech.length + i, f)))

        // the answer arrives as media frames: base64 μ-law, text frames only
        yield* Effect.promise(async () => {
          for (let i = 0; i < 200 && received.filter((m) => m.event === "media").length < 300; i++) await sleep(50)
        })
        const media = received.filter((m) => m.event === "media")
        expect(media.length).toBeGreaterThanOrEqual(300)
        const bytes = media.reduce((n, m) => n + Buffer.from(m.media?.payload ?? "", "base64").length, 0)
        expect(bytes / 8000).toBeGreaterThan(6) // seconds of answer
        expect(deepgram.connections[0]?.path).toBe("/v1/listen")
        expect(deepgram.connections[0]?.query).toMatchObject({ encoding: "mulaw", sample_rate: "8000", channels: "1" })
        expect(deepgram.connections[0]?.authorization).toBe("Token dg-test-key")
        expect(deepgram.audioBytes()).toBeGreaterThanOrEqual(4000)

        ws.send(twilioMedia.stop(streamSid))
        yield* Effect.promise(() => sleep(500))
        const usage = yield* sql`SELECT metadata FROM usage_logs WHERE agent_id = 'media-a'`
        const meta = (typeof usage[0]?.["metadata"] === "string" ? JSON.parse(usage[0]["metadata"]) : usage[0]?.["metadata"]) as Record<string, number>
        expect(meta["callerTurns"]).toBe(1)
        expect(meta["agentTurns"]).toBe(2) // the greeting and the answer
      }))
  })
})
