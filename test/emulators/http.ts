import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

/** Shared plumbing of the vendor emulators: a loopback server, body reading, JSON answers, fault injection. */
export const readBody = (req: IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => resolve(Buffer.concat(chunks)))
    req.on("error", reject)
  })

export const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { "content-type": "application/json", ...headers })
  res.end(JSON.stringify(body))
}

/** What the emulator does with the next requests instead of answering normally. */
export interface Faults {
  /** Answer this many API requests with this HTTP status (e.g. 503). */
  failNext: number
  failStatus: number
  /** Answer every API request with `failStatus` while set. */
  failAll: boolean
  /** Never answer this many requests (the client times out after the bytes left). */
  hangNext: number
}

export const newFaults = (): Faults => ({ failNext: 0, failStatus: 503, failAll: false, hangNext: 0 })

/** Applies the faults; true when the request was answered (or swallowed) here. */
export const injectFault = (faults: Faults, res: ServerResponse, body: unknown): boolean => {
  if (faults.hangNext > 0) {
    faults.hangNext--
    return true
  }
  if (faults.failAll || faults.failNext > 0) {
    if (faults.failNext > 0) faults.failNext--
    json(res, faults.failStatus, body)
    return true
  }
  return false
}

export interface Listening {
  readonly server: Server
  readonly url: string
  readonly close: () => Promise<void>
}

export const listen = async (handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Listening> => {
  const server = createServer(handler)
  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port))
  })
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}
