/**
 * comms_send_voice_message: a valid μ-law 8 kHz WAV of the right length,
 * stored on the local filesystem and on a local S3 server, served behind a
 * signed expiring URL, delivered as a phone call (the carrier fetches and
 * plays it) and as WhatsApp audio, its cost recorded.
 */
import { afterAll, describe, expect, it, layer } from "@effect/vitest"
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { speechSeconds } from "../../src/providers/sandbox/SandboxTts.ts"
import * as LocalStorage from "../../src/providers/localstorage/LocalStorage.ts"
import { Storage } from "../../src/providers/Storage.ts"
import { readWav } from "../../src/voice/Audio.ts"
import { baseUrl, callTool, errorCode, MASTER, mcpClient, provisionArgs, serverLayer } from "../support/server.ts"
import { startS3 } from "../emulators/s3/server.ts"
import { SANDBOX_AUTH_TOKEN, signedPost, sleep } from "./support.ts"

const TEXT = "Your parcel arrives on Friday between nine and eleven in the morning. Reply to this number if that does not suit you."
const PERSON = "+12025550188"
const BUCKET = "voice-test"
const s3 = await startS3(BUCKET)
afterAll(() => s3.close())

const str = (v: unknown): string => {
  if (typeof v !== "string") throw new Error(`expected a string, got ${JSON.stringify(v)}`)
  return v
}

const fetchBytes = (url: string) =>
  Effect.promise(async () => {
    const res = await fetch(url)
    return { status: res.status, type: res.headers.get("content-type"), bytes: new Uint8Array(await res.arrayBuffer()) }
  })

/** The audio is a telephony WAV exactly as long as the text takes to read. */
const expectTelephonyWav = (bytes: Uint8Array) => {
  expect(Buffer.from(bytes.subarray(0, 4)).toString("ascii")).toBe("RIFF")
  expect(Buffer.from(bytes.subarray(8, 12)).toString("ascii")).toBe("WAVE")
  const info = readWav(bytes)
  expect(info).toMatchObject({ audioFormat: 7, sampleRate: 8000, channels: 1, bitsPerSample: 8 })
  expect(info.durationSeconds).toBeCloseTo(speechSeconds(TEXT), 1)
  expect(info.durationSeconds).toBeGreaterThan(5)
}

const provision = (master: Client, agentId: string) =>
  Effect.map(callTool(master, "comms_provision_channels", provisionArgs(agentId)), (out) => ({
    token: str(out.json["securityToken"]),
    whatsapp: str((out.json["channels"] as { whatsapp: { number: string } }).whatsapp.number)
  }))

const sendBoth = (agentId: string) =>
  Effect.gen(function*() {
    const url = yield* baseUrl
    const sql = yield* SqlClient.SqlClient
    const master = yield* mcpClient(url, MASTER)
    const agent = yield* provision(master, agentId)
    const client = yield* mcpClient(url, agent.token)

    // phone call: the carrier answers, fetches the audio and plays it
    const call = yield* callTool(client, "comms_send_voice_message", { agentId, to: PERSON, text: TEXT, deliveryChannel: "phone_call" })
    expect(call.isError).toBe(false)
    expect(call.json).toMatchObject({ deliveryStatus: "queued" })
    expect(call.json["durationSeconds"]).toBeCloseTo(speechSeconds(TEXT), 1)
    const audio = yield* fetchBytes(str(call.json["audioUrl"]))
    expect(audio.status).toBe(200)
    expect(audio.type).toBe("audio/wav")
    expectTelephonyWav(audio.bytes)
    // cost: speech minutes + a one-minute call, both recorded
    expect(call.json["cost"]).toBeCloseTo(0.02 * Math.ceil((speechSeconds(TEXT) / 60) * 100) / 100 + 0.1, 6)
    let played: ReadonlyArray<Record<string, unknown>> = []
    for (let i = 0; i < 100 && played.length === 0; i++) {
      played = yield* sql`SELECT body FROM sandbox_outbox WHERE channel = 'voice' AND to_address = ${PERSON} AND body LIKE 'voice message played%'`
      if (played.length === 0) yield* Effect.promise(() => sleep(100))
    }
    expect(played.length).toBeGreaterThan(0)

    // WhatsApp audio: only inside the window the contact opened
    const early = yield* callTool(client, "comms_send_voice_message", { agentId, to: PERSON, text: TEXT, deliveryChannel: "whatsapp_audio" })
    expect(errorCode(early)).toBe("whatsapp_template_required")
    const inbound = yield* signedPost(`${url}/webhooks/${agentId}/whatsapp`, {
      From: `whatsapp:${PERSON}`,
      To: `whatsapp:${agent.whatsapp}`,
      Body: "hello",
      MessageSid: "SM" + "1".repeat(30) + agentId.length.toString().padStart(2, "0"),
      AccountSid: "AC" + "0".repeat(32),
      NumMedia: "0"
    })
    expect(inbound.status).toBe(200)
    const wa = yield* callTool(client, "comms_send_voice_message", { agentId, to: PERSON, text: TEXT, deliveryChannel: "whatsapp_audio" })
    expect(wa.isError).toBe(false)
    const waAudio = yield* fetchBytes(str(wa.json["audioUrl"]))
    expectTelephonyWav(waAudio.bytes)
    let delivered: ReadonlyArray<Record<string, unknown>> = []
    for (let i = 0; i < 100 && delivered.length === 0; i++) {
      delivered = yield* sql`SELECT media FROM sandbox_outbox WHERE channel = 'whatsapp' AND to_address = ${PERSON}`
      if (delivered.length === 0) yield* Effect.promise(() => sleep(100))
    }
    expect(JSON.stringify(delivered[0]?.["media"])).toContain("audio/wav")

    const usage = yield* sql`SELECT action_type, channel, cost FROM usage_logs WHERE agent_id = ${agentId} ORDER BY action_type`
    expect(usage.map((r) => [r["actionType"], r["channel"], Number(r["cost"])])).toEqual([
      ["voice_message", "voice", call.json["cost"]],
      ["whatsapp_audio", "whatsapp", wa.json["cost"]]
    ])
    const rows = yield* sql`SELECT channel, audio_key FROM voice_messages WHERE agent_id = ${agentId} ORDER BY channel`
    expect(rows.map((r) => r["channel"])).toEqual(["voice", "whatsapp"])

    // the URL is signed: another signature or an expired one is refused
    const forged = str(call.json["audioUrl"]).replace(/sig=[^&]+/, "sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    expect((yield* fetchBytes(forged)).status).toBe(403)
    const expired = str(call.json["audioUrl"]).replace(/exp=\d+/, "exp=1000")
    expect((yield* fetchBytes(expired)).status).toBe(403)
    return rows.map((r) => str(r["audioKey"]))
  })

describe("local filesystem storage", () => {
  it.effect("objects land under DATA_DIR/media; keys cannot escape it", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "voice-storage-"))
      const storage = yield* Effect.provide(Storage, LocalStorage.layer(dir))
      yield* storage.put("voice/a1/m1.wav", { bytes: new Uint8Array([1, 2, 3]), contentType: "audio/wav" })
      expect(existsSync(join(dir, "media", "voice", "a1", "m1.wav"))).toBe(true)
      const got = yield* storage.get("voice/a1/m1.wav")
      expect(Option.map(got, (o) => [Array.from(o.bytes), o.contentType])).toEqual(Option.some([[1, 2, 3], "audio/wav"]))
      expect(yield* storage.get("voice/a1/none.wav")).toEqual(Option.none())
      expect((yield* Effect.flip(storage.put("../escape.wav", { bytes: new Uint8Array(), contentType: "x" })))._tag).toBe("ProviderError")
      yield* storage.remove("voice/a1/m1.wav")
      expect(existsSync(join(dir, "media", "voice", "a1", "m1.wav"))).toBe(false)
      rmSync(dir, { recursive: true, force: true })
    }))
})

describe("voice messages, local storage", () => {
  layer(serverLayer({ SANDBOX_AUTH_TOKEN, INITIAL_AGENT_POOL_SIZE: "4" }), { timeout: 90_000, excludeTestServices: true })((it) => {
    it.scoped("a WAV of the right length, delivered by phone and WhatsApp, cost recorded, URL signed", () =>
      Effect.asVoid(sendBoth("vm-local")))
  })
})

describe("voice messages, S3-compatible storage", () => {
  layer(
    serverLayer({
      SANDBOX_AUTH_TOKEN,
      INITIAL_AGENT_POOL_SIZE: "4",
      STORAGE_PROVIDER: "s3",
      S3_ENDPOINT: s3.endpoint,
      S3_BUCKET: BUCKET,
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey
    }),
    { timeout: 90_000, excludeTestServices: true }
  )((it) => {
    it.scoped("the audio is an object in the bucket, served through the signed URL", () =>
      Effect.gen(function*() {
        const keys = yield* sendBoth("vm-s3")
        const client = new S3Client({
          region: "us-east-1",
          endpoint: s3.endpoint,
          forcePathStyle: true,
          credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey }
        })
        for (const key of keys) {
          const object = yield* Effect.promise(() => client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key })))
          expect(object.ContentType).toBe("audio/wav")
          expectTelephonyWav(yield* Effect.promise(async () => (await object.Body?.transformToByteArray()) ?? new Uint8Array()))
        }
        client.destroy()
      }))
  })
})
