/**
 * A loopback emulator of SendGrid's v3 API as our adapter uses it: `POST /v3/mail/send` (Bearer API
 * key, the documented JSON body, 202 + `X-Message-Id`, error bodies `{ errors: [{ message, field,
 * help }] }`) and `GET /v3/scopes` (the read-only credential check). It plays SendGrid's side too:
 * Event Webhook posts signed with ECDSA P-256 over `timestamp + body` exactly as SendGrid signs them
 * (its verification key is `verificationKey`), and Inbound Parse multipart posts.
 */
import { generateKeyPairSync, randomBytes, sign } from "node:crypto"
import type { IncomingMessage, ServerResponse } from "node:http"
import { type Faults, injectFault, json, listen, newFaults, readBody } from "../http.ts"

export interface SentMail {
  readonly messageId: string
  readonly body: {
    readonly personalizations: ReadonlyArray<{ readonly to: ReadonlyArray<{ email: string }>; readonly bcc?: ReadonlyArray<{ email: string }> }>
    readonly from: { readonly email: string; readonly name?: string }
    readonly subject: string
    readonly content: ReadonlyArray<{ type: string; value: string }>
    readonly attachments?: ReadonlyArray<{ content: string; filename: string; type?: string }>
    readonly headers?: Readonly<Record<string, string>>
    readonly custom_args?: Readonly<Record<string, string>>
  }
}

export interface SendGridEmulator {
  readonly url: string
  readonly apiKey: string
  /** The Event Webhook verification key (base64 DER SPKI), as the SendGrid console shows it. */
  readonly verificationKey: string
  readonly sent: Array<SentMail>
  readonly requests: Array<{ readonly method: string; readonly path: string }>
  readonly faults: Faults
  nextError: { readonly status: number; readonly field?: string } | undefined
  /** POSTs a signed Event Webhook batch; `forge` signs with another key. Resolves to our HTTP status. */
  readonly postEvents: (
    url: string,
    events: ReadonlyArray<Record<string, unknown>>,
    opts?: { readonly forge?: boolean }
  ) => Promise<number>
  /** POSTs an Inbound Parse (parsed mode) multipart message with optional attachments. */
  readonly postInbound: (
    url: string,
    mail: { readonly from: string; readonly to: string; readonly subject: string; readonly text: string; readonly files?: ReadonlyArray<{ name: string; type: string; bytes: Uint8Array }> }
  ) => Promise<number>
  readonly close: () => Promise<void>
}

const keyPair = () => generateKeyPairSync("ec", { namedCurve: "prime256v1" })

export const startSendGridEmulator = async (opts: { readonly apiKey?: string } = {}): Promise<SendGridEmulator> => {
  const apiKey = opts.apiKey ?? `SG.${randomBytes(11).toString("base64url")}.${randomBytes(32).toString("base64url")}`
  const { privateKey, publicKey } = keyPair()
  const forger = keyPair()
  const verificationKey = publicKey.export({ type: "spki", format: "der" }).toString("base64")
  const sent: Array<SentMail> = []
  const requests: Array<{ method: string; path: string }> = []

  const errors = (res: ServerResponse, status: number, message: string, field: string | null = null, headers: Record<string, string> = {}) =>
    json(res, status, { errors: [{ message, field, help: null }] }, headers)

  const state: SendGridEmulator = {
    url: "",
    apiKey,
    verificationKey,
    sent,
    requests,
    faults: newFaults(),
    nextError: undefined,
    postEvents: async (url, events, o = {}) => {
      const body = JSON.stringify(events) + "\r\n"
      const timestamp = String(Math.floor(Date.now() / 1000))
      const signature = sign("sha256", Buffer.from(timestamp + body), o.forge === true ? forger.privateKey : privateKey)
      const res = await fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-twilio-email-event-webhook-signature": signature.toString("base64"),
          "x-twilio-email-event-webhook-timestamp": timestamp
        },
        body
      })
      await res.arrayBuffer()
      return res.status
    },
    postInbound: async (url, mail) => {
      const form = new FormData()
      const files = mail.files ?? []
      form.set("headers", `Message-ID: <${randomBytes(8).toString("hex")}@mail.example>\nFrom: ${mail.from}\nTo: ${mail.to}\nSubject: ${mail.subject}`)
      form.set("from", mail.from)
      form.set("to", mail.to)
      form.set("subject", mail.subject)
      form.set("text", mail.text)
      form.set("envelope", JSON.stringify({ to: [mail.to], from: mail.from }))
      form.set("attachments", String(files.length))
      form.set("attachment-info", JSON.stringify(Object.fromEntries(files.map((f, i) => [`attachment${i + 1}`, { filename: f.name, type: f.type }]))))
      files.forEach((f, i) => form.set(`attachment${i + 1}`, new Blob([f.bytes], { type: f.type }), f.name))
      const res = await fetch(url, { method: "POST", body: form })
      await res.arrayBuffer()
      return res.status
    },
    close: async () => {}
  }

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://emulator")
    const method = req.method ?? "GET"
    const raw = (await readBody(req)).toString("utf8")
    requests.push({ method, path: url.pathname })
    if (req.headers.authorization !== `Bearer ${apiKey}`) {
      return errors(res, 401, "The provided authorization grant is invalid, expired, or revoked")
    }
    if (injectFault(state.faults, res, { errors: [{ message: "Service Unavailable", field: null, help: null }] })) return
    if (method === "GET" && url.pathname === "/v3/scopes") return json(res, 200, { scopes: ["mail.send"] })
    if (method === "POST" && url.pathname === "/v3/mail/send") {
      if (state.nextError !== undefined) {
        const e = state.nextError
        state.nextError = undefined
        return errors(res, e.status, "Refused by the emulator", e.field ?? null, e.status === 429 ? { "retry-after": "7" } : {})
      }
      let body: SentMail["body"]
      try {
        body = JSON.parse(raw) as SentMail["body"]
      } catch {
        return errors(res, 400, "Bad Request", null)
      }
      const to = body.personalizations?.[0]?.to?.[0]?.email ?? ""
      if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(to)) {
        return errors(res, 400, "Does not contain a valid address.", "personalizations.0.to.0.email")
      }
      if (body.from?.email === undefined) return errors(res, 400, "The from object must be provided", "from.email")
      const messageId = randomBytes(11).toString("base64url")
      sent.push({ messageId, body })
      res.writeHead(202, { "x-message-id": messageId }).end()
      return
    }
    return errors(res, 404, "not found")
  }

  const server = await listen((req, res) => {
    void handle(req, res).catch(() => json(res, 500, { errors: [{ message: "emulator failure" }] }))
  })
  return Object.assign(state, { url: server.url, close: server.close })
}
