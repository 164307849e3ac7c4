/**
 * A loopback emulator of the Twilio REST endpoints our adapter uses (2010-04-01 API): Basic auth with
 * the Account SID and Auth Token, form-encoded requests, JSON answers and Twilio's error bodies
 * (`{ code, message, more_info, status }`). It plays Twilio's side of the loop too: after a send it
 * POSTs the status callbacks (`sent`, then `delivered`) and it can deliver an inbound SMS to a
 * bought number's SmsUrl, each signed with `X-Twilio-Signature` by the official SDK's signer.
 */
import { randomBytes } from "node:crypto"
import type { IncomingMessage, ServerResponse } from "node:http"
import twilio from "twilio"
import { type Faults, injectFault, json, listen, newFaults, readBody } from "../http.ts"

export interface TwilioNumber {
  readonly sid: string
  readonly phoneNumber: string
  readonly country: string
  readonly smsUrl: string
  readonly voiceUrl: string
  released: boolean
}

export interface TwilioMessage {
  readonly sid: string
  readonly to: string
  readonly from: string
  readonly body: string | undefined
  readonly mediaUrls: ReadonlyArray<string>
  readonly contentSid: string | undefined
  readonly contentVariables: string | undefined
  readonly statusCallback: string | undefined
}

export interface TwilioEmulator {
  readonly url: string
  readonly accountSid: string
  readonly authToken: string
  readonly numbers: Array<TwilioNumber>
  readonly messages: Array<TwilioMessage>
  /** Every API request: method and path (for "nothing was sent twice" checks). */
  readonly requests: Array<{ readonly method: string; readonly path: string }>
  readonly faults: Faults
  /** Answer the next send with this Twilio error (e.g. 21211 / 400, 20003 / 401, 20429 / 429). */
  nextError: { readonly code: number; readonly status: number; readonly retryAfter?: number } | undefined
  /** Whether to post status callbacks after a send (default true). */
  callbacks: boolean
  /** Posts a signed inbound SMS from `from` to a bought number, at its SmsUrl; resolves to our HTTP status. */
  readonly inboundSms: (to: string, from: string, body: string) => Promise<number>
  readonly close: () => Promise<void>
}

const hex = (n: number) => randomBytes(n).toString("hex")

export const startTwilioEmulator = async (
  opts: { readonly accountSid?: string; readonly authToken?: string } = {}
): Promise<TwilioEmulator> => {
  const accountSid = opts.accountSid ?? "AC" + hex(16)
  const authToken = opts.authToken ?? hex(16)
  const numbers: Array<TwilioNumber> = []
  const messages: Array<TwilioMessage> = []
  const requests: Array<{ method: string; path: string }> = []
  let nextNumber = 100

  const postSigned = async (url: string, params: Record<string, string>): Promise<number> => {
    const signature = twilio.getExpectedTwilioSignature(authToken, url, params)
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature },
      body: new URLSearchParams(params).toString()
    })
    await res.arrayBuffer()
    return res.status
  }

  const error = (res: ServerResponse, status: number, code: number, message: string, headers: Record<string, string> = {}) =>
    json(res, status, { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }, headers)

  const authorized = (req: IncomingMessage): boolean => {
    const header = req.headers.authorization ?? ""
    const expected = "Basic " + Buffer.from(`${accountSid}:${authToken}`).toString("base64")
    return header === expected
  }

  const E164 = /^\+[1-9]\d{7,14}$/
  const bare = (a: string) => a.replace(/^whatsapp:/, "")

  const state: TwilioEmulator = {
    url: "",
    accountSid,
    authToken,
    numbers,
    messages,
    requests,
    faults: newFaults(),
    nextError: undefined,
    callbacks: true,
    inboundSms: async (to, from, body) => {
      const number = numbers.find((n) => n.phoneNumber === to && !n.released)
      if (number === undefined) throw new Error("no such number at the emulator")
      const sid = "SM" + hex(16)
      return postSigned(number.smsUrl, {
        MessageSid: sid, SmsSid: sid, AccountSid: accountSid, From: from, To: to, Body: body, NumMedia: "0"
      })
    },
    close: async () => {}
  }

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://emulator")
    const method = req.method ?? "GET"
    const raw = (await readBody(req)).toString("utf8")
    requests.push({ method, path: url.pathname })
    const base = `/2010-04-01/Accounts/${accountSid}`
    if (!authorized(req)) return error(res, 401, 20003, "Authenticate")
    if (injectFault(state.faults, res, { code: 20500, message: "Service unavailable", status: state.faults.failStatus })) return
    const form = new URLSearchParams(raw)

    if (method === "GET" && url.pathname === `${base}.json`) {
      return json(res, 200, { sid: accountSid, friendly_name: "Emulated account", status: "active", type: "Full" })
    }
    const search = new RegExp(`^${base}/AvailablePhoneNumbers/([A-Z]{2})/(Local|Mobile)\\.json$`).exec(url.pathname)
    if (method === "GET" && search !== null) {
      const country = search[1]!
      const prefix = country === "US" || country === "CA" ? "+1415555" : country === "GB" ? "+4477009" : "+4915550"
      const phone = `${prefix}${String(nextNumber++).padStart(4, "0")}`
      return json(res, 200, {
        available_phone_numbers: [{
          friendly_name: phone, phone_number: phone, iso_country: country,
          capabilities: { voice: true, SMS: true, MMS: true }
        }],
        uri: url.pathname
      })
    }
    if (method === "POST" && url.pathname === `${base}/IncomingPhoneNumbers.json`) {
      const phone = form.get("PhoneNumber") ?? ""
      if (!E164.test(phone)) return error(res, 400, 21421, "PhoneNumber is invalid")
      const number: TwilioNumber = {
        sid: "PN" + hex(16), phoneNumber: phone, country: phone.startsWith("+1") ? "US" : "??",
        smsUrl: form.get("SmsUrl") ?? "", voiceUrl: form.get("VoiceUrl") ?? "", released: false
      }
      numbers.push(number)
      return json(res, 201, {
        sid: number.sid, account_sid: accountSid, phone_number: phone, friendly_name: form.get("FriendlyName"),
        sms_url: number.smsUrl, voice_url: number.voiceUrl, capabilities: { voice: true, sms: true, mms: true }
      })
    }
    const release = new RegExp(`^${base}/IncomingPhoneNumbers/(PN[0-9a-f]{32})\\.json$`).exec(url.pathname)
    if (method === "DELETE" && release !== null) {
      const number = numbers.find((n) => n.sid === release[1] && !n.released)
      if (number === undefined) return error(res, 404, 20404, "The requested resource was not found")
      number.released = true
      res.writeHead(204).end()
      return
    }
    if (method === "POST" && url.pathname === `${base}/Messages.json`) {
      if (state.nextError !== undefined) {
        const e = state.nextError
        state.nextError = undefined
        return error(res, e.status, e.code, "Refused by the emulator", e.retryAfter !== undefined ? { "retry-after": String(e.retryAfter) } : {})
      }
      const to = form.get("To") ?? ""
      const from = form.get("From") ?? ""
      if (!E164.test(bare(to))) return error(res, 400, 21211, `The 'To' number ${to} is not a valid phone number.`)
      if (!E164.test(bare(from))) return error(res, 400, 21212, "The 'From' number is not a valid phone number.")
      if (!form.has("Body") && !form.has("ContentSid") && !form.has("MediaUrl")) return error(res, 400, 21602, "Message body is required.")
      const message: TwilioMessage = {
        sid: (form.has("MediaUrl") ? "MM" : "SM") + hex(16), to, from, body: form.get("Body") ?? undefined,
        mediaUrls: form.getAll("MediaUrl"), contentSid: form.get("ContentSid") ?? undefined,
        contentVariables: form.get("ContentVariables") ?? undefined, statusCallback: form.get("StatusCallback") ?? undefined
      }
      messages.push(message)
      json(res, 201, {
        sid: message.sid, account_sid: accountSid, to, from, body: message.body ?? "", status: "queued",
        num_media: String(message.mediaUrls.length), direction: "outbound-api", date_created: new Date().toUTCString()
      })
      const callback = message.statusCallback
      if (state.callbacks && callback !== undefined) {
        setTimeout(() => {
          const params = { MessageSid: message.sid, SmsSid: message.sid, AccountSid: accountSid, From: from, To: to }
          void postSigned(callback, { ...params, MessageStatus: "sent" })
            .then(() => postSigned(callback, { ...params, MessageStatus: "delivered" }))
            .catch(() => undefined)
        }, 20)
      }
      return
    }
    return error(res, 404, 20404, "The requested resource was not found")
  }

  const server = await listen((req, res) => {
    void handle(req, res).catch(() => json(res, 500, { code: 20500, message: "emulator failure", status: 500 }))
  })
  return Object.assign(state, { url: server.url, close: server.close })
}
