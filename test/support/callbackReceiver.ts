/**
 * Test doubles on loopback for the end-to-end tests:
 *
 * - `startCallbackReceiver(secret)`: the orchestrator's callback endpoint. It
 *   verifies every request's Standard Webhooks signature with our own
 *   `StandardWebhooks.verify`, records every attempt, and the accepted (2xx)
 *   deliveries per `webhook-id`. It can be told to fail the next N requests,
 *   or every request, with a 500.
 * - `startMediaServer()`: serves a tiny PNG at `/cat.png` for `mediaUrl`.
 */
import { createServer, type IncomingMessage, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { verify } from "../../src/webhooks/StandardWebhooks.ts"

export interface CallbackAttempt {
  readonly webhookId: string
  readonly path: string
  readonly status: number
  readonly signatureValid: boolean
}

export interface CallbackDelivery {
  readonly webhookId: string
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
  readonly payload: Record<string, unknown>
}

export interface CallbackReceiver {
  readonly port: number
  readonly url: string
  /** Every request, in arrival order. */
  readonly attempts: Array<CallbackAttempt>
  /** Deliveries answered 2xx, per webhook-id (more than one entry = the receiver saw a duplicate). */
  readonly accepted: Map<string, Array<CallbackDelivery>>
  /** Answer the next `n` requests with 500. */
  failNext: number
  /** Answer every request with 500 while set. */
  failAll: boolean
  /** Accepted deliveries whose payload satisfies `p`. */
  readonly find: (p: (payload: Record<string, unknown>) => boolean) => ReadonlyArray<CallbackDelivery>
  readonly close: () => Promise<void>
}

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    req.on("error", reject)
  })

const listen = (server: Server): Promise<number> =>
  new Promise((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port))
  })

const closeServer = (server: Server): Promise<void> =>
  new Promise((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })

export const startCallbackReceiver = async (secret: string): Promise<CallbackReceiver> => {
  const attempts: Array<CallbackAttempt> = []
  const accepted = new Map<string, Array<CallbackDelivery>>()
  const state = { failNext: 0, failAll: false }
  const server = createServer((req, res) => {
    void readBody(req).then((body) => {
      const headers: Record<string, string> = {}
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers[k] = v
      const webhookId = headers["webhook-id"] ?? ""
      const path = req.url ?? ""
      const signatureValid = verify({ secret, headers, body, nowMillis: Date.now() }).ok
      let status = 200
      if (!signatureValid) status = 401
      else if (state.failAll) status = 500
      else if (state.failNext > 0) {
        state.failNext--
        status = 500
      }
      attempts.push({ webhookId, path, status, signatureValid })
      if (status === 200) {
        const list = accepted.get(webhookId) ?? []
        list.push({ webhookId, path, headers, body, payload: JSON.parse(body) as Record<string, unknown> })
        accepted.set(webhookId, list)
      }
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ ok: status === 200 }))
    })
  })
  const port = await listen(server)
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    attempts,
    accepted,
    get failNext() {
      return state.failNext
    },
    set failNext(n: number) {
      state.failNext = n
    },
    get failAll() {
      return state.failAll
    },
    set failAll(b: boolean) {
      state.failAll = b
    },
    find: (p) => [...accepted.values()].flat().filter((d) => p(d.payload)),
    close: () => closeServer(server)
  }
}

/** A 1×1 PNG. */
export const PNG_BYTES = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
  "base64"
)

export interface MediaServer {
  readonly url: string
  readonly close: () => Promise<void>
}

export const startMediaServer = async (): Promise<MediaServer> => {
  const server = createServer((req, res) => {
    if (req.url === "/cat.png") {
      res.writeHead(200, { "content-type": "image/png", "content-length": PNG_BYTES.length }).end(PNG_BYTES)
    } else {
      res.writeHead(404).end()
    }
  })
  const port = await listen(server)
  return { url: `http://127.0.0.1:${port}`, close: () => closeServer(server) }
}

/** Polls `check` every 50 ms until it returns a value other than undefined, or fails after `timeoutMs`. */
export const waitFor = async <A>(what: string, check: () => A | undefined | Promise<A | undefined>, timeoutMs = 15_000): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}
