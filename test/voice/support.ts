import * as Effect from "effect/Effect"
import WebSocket from "ws"
import { readTwiml } from "../../src/providers/sandbox/SandboxTwiml.ts"
import { relay } from "../../src/providers/twilio/ConversationRelay.ts"
import { computeTwilioSignature } from "../../src/providers/twilio/TwilioSignature.ts"

export const SANDBOX_AUTH_TOKEN = "sandbox-auth-token-voice-0000001"

/** A Twilio-signed form post; the status and body text. */
export const signedPost = (url: string, params: Record<string, string>, token = SANDBOX_AUTH_TOKEN) =>
  Effect.promise(async () => {
    const res = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        "x-twilio-signature": computeTwilioSignature(token, url, params)
      },
      body: new URLSearchParams(params).toString()
    })
    return { status: res.status, text: await res.text() }
  })

export const inboundCall = (base: string, agentId: string, fields: { CallSid: string; From: string; To: string }) =>
  Effect.map(signedPost(`${base}/webhooks/${agentId}/voice`, { ...fields, AccountSid: "AC" + "0".repeat(32), Direction: "inbound", CallStatus: "ringing" }), (r) => ({
    ...r,
    verb: readTwiml(r.text)
  }))

export interface RelayMessage {
  readonly type: string
  readonly token?: string
  readonly last?: boolean
  readonly handoffData?: string
  readonly at: number
}

/** A ConversationRelay client playing Twilio's part: records every message with its arrival time. */
export interface RelayClient {
  readonly ws: WebSocket
  readonly messages: Array<RelayMessage>
  readonly send: (frame: string) => void
  /** Resolves with the text of the next complete utterance (tokens up to last:true) after message index `from`. */
  readonly utterance: (from: number, timeoutMs?: number) => Promise<string>
  readonly closed: Promise<number>
}

export const connectRelay = (url: string, headers: Record<string, string> = {}): Promise<RelayClient> =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers })
    const messages: Array<RelayMessage> = []
    const waiters = new Set<() => void>()
    let closeCode: (code: number) => void = () => {}
    const closed = new Promise<number>((r) => (closeCode = r))
    ws.on("message", (data) => {
      messages.push({ ...JSON.parse(data.toString()), at: performance.now() })
      for (const w of waiters) w()
    })
    ws.on("close", (code) => closeCode(code))
    ws.once("open", () =>
      resolve({
        ws,
        messages,
        send: (frame) => ws.send(frame),
        closed,
        utterance: (from, timeoutMs = 10_000) =>
          new Promise((res, rej) => {
            const check = () => {
              const end = messages.findIndex((m, i) => i >= from && m.type === "text" && m.last === true)
              if (end >= 0) {
                waiters.delete(check)
                clearTimeout(timer)
                res(messages.slice(from, end + 1).map((m) => m.token ?? "").join("").trim())
              }
            }
            const timer = setTimeout(() => {
              waiters.delete(check)
              rej(new Error("no complete utterance in time"))
            }, timeoutMs)
            waiters.add(check)
            check()
          })
      }))
    ws.once("unexpected-response", (_req, res) => reject(new Error(`handshake refused: ${res.statusCode}`)))
    ws.once("error", reject)
  })

export const setupFrame = (callSid: string, from: string, to: string) => relay.setup({ callSid, from, to, direction: "inbound" })

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A fresh Twilio-like CallSid. */
export const callSid = () => "CA" + Array.from({ length: 32 }, () => Math.floor(Math.random() * 16).toString(16)).join("")
