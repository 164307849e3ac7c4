/**
 * The floor of the inbound webhook measure of `npm run bench`: a bare
 * `node:http` server doing the same work as our `POST /webhooks/:agentId/sms`
 * without Effect — reads the form body, verifies `X-Twilio-Signature` (the same
 * `verifyTwilioSignature` our server ends up calling) and inserts one row into
 * PGlite (a table of a few text columns, duplicate MessageSid ignored), then
 * answers the empty TwiML. No agent lookup, no decode schema, no callback
 * outbox, no forwarding.
 *
 * Run as a child process by the bench: listens on 127.0.0.1:$PORT (0 = any),
 * PGlite in memory unless $DATA_DIR is set (a directory, created by PGlite),
 * signature key $AUTH_TOKEN; prints `LISTENING <port>` to stdout once ready.
 */
import { PGlite } from "@electric-sql/pglite"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { type FormParams, verifyTwilioSignature } from "../../src/providers/twilio/TwilioSignature.ts"

const authToken = process.env["AUTH_TOKEN"] ?? ""
if (authToken.length < 16) throw new Error("floor-inbound: AUTH_TOKEN (at least 16 characters) is required")
const dataDir = process.env["DATA_DIR"]

const db = await (dataDir === undefined || dataDir === "" ? PGlite.create() : PGlite.create(dataDir))
await db.exec(`CREATE TABLE IF NOT EXISTS inbound_messages (
  message_sid TEXT PRIMARY KEY,
  account_sid TEXT NOT NULL,
  from_number TEXT NOT NULL,
  to_number TEXT NOT NULL,
  body TEXT NOT NULL,
  received_at TIMESTAMPTZ NOT NULL DEFAULT now()
)`)

const TWIML_EMPTY = `<?xml version="1.0" encoding="UTF-8"?><Response/>`
const MAX_BYTES = 1024 * 1024

const readBody = (req: http.IncomingMessage): Promise<Buffer | undefined> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    let size = 0
    req.on("data", (c: Buffer) => {
      size += c.length
      if (size <= MAX_BYTES) chunks.push(c)
    })
    req.on("end", () => resolve(size > MAX_BYTES ? undefined : Buffer.concat(chunks, size)))
    req.on("error", reject)
  })

const parseForm = (raw: string): Record<string, string | Array<string>> => {
  const out: Record<string, string | Array<string>> = {}
  for (const [key, value] of new URLSearchParams(raw)) {
    const previous = out[key]
    if (previous === undefined) out[key] = value
    else if (typeof previous === "string") out[key] = [previous, value]
    else previous.push(value)
  }
  return out
}

const first = (params: FormParams, name: string): string | undefined => {
  const v = params[name]
  return typeof v === "string" ? v : v?.[0]
}

const reply = (res: http.ServerResponse, status: number, contentType: string, body: string): void => {
  res.writeHead(status, { "content-type": contentType })
  res.end(body)
}

const handle = async (req: http.IncomingMessage, res: http.ServerResponse, port: number): Promise<void> => {
  if (req.method === "GET" && req.url === "/health") return reply(res, 200, "application/json", "{\"status\":\"ok\"}")
  if (req.method !== "POST" || req.url === undefined || !/^\/webhooks\/[^/]+\/sms$/.test(req.url)) {
    return reply(res, 404, "application/json", "{\"error\":\"not found\"}")
  }
  const raw = await readBody(req)
  if (raw === undefined) return reply(res, 413, "application/json", "{\"error\":\"too large\"}")
  const params = parseForm(raw.toString("utf8"))
  const header = req.headers["x-twilio-signature"]
  const signature = typeof header === "string" ? header : ""
  if (!verifyTwilioSignature(authToken, signature, `http://127.0.0.1:${port}${req.url}`, params)) {
    return reply(res, 403, "application/json", "{\"error\":\"forbidden\"}")
  }
  const sid = first(params, "MessageSid")
  const account = first(params, "AccountSid")
  const from = first(params, "From")
  const to = first(params, "To")
  const body = first(params, "Body")
  if (sid === undefined || account === undefined || from === undefined || to === undefined || body === undefined) {
    return reply(res, 400, "application/json", "{\"error\":\"invalid_webhook\"}")
  }
  await db.query(
    `INSERT INTO inbound_messages (message_sid, account_sid, from_number, to_number, body)
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (message_sid) DO NOTHING`,
    [sid, account, from, to, body]
  )
  reply(res, 200, "text/xml", TWIML_EMPTY)
}

const server = http.createServer((req, res) => {
  const { port } = server.address() as AddressInfo
  handle(req, res, port).catch(() => {
    if (!res.headersSent) reply(res, 500, "application/json", "{\"error\":\"internal\"}")
    else if (!res.writableEnded) res.end()
  })
})

server.listen(Number(process.env["PORT"] ?? "0"), "127.0.0.1", () => {
  const { port } = server.address() as AddressInfo
  process.stdout.write(`LISTENING ${port}\n`)
})

const shutdown = () => {
  server.close(() => {
    void db.close().finally(() => process.exit(0))
  })
  server.closeAllConnections()
  setTimeout(() => process.exit(0), 1000).unref()
}
process.on("SIGTERM", shutdown)
process.on("SIGINT", shutdown)
