import type { Server } from "node:http"
import type { Socket } from "node:net"

export interface ConnectionLimits {
  /** Time to receive a request's headers (slowloris), seconds. */
  readonly headersTimeoutSeconds: number
  /** Time to receive a whole request, body included (slow bodies), seconds. Not the response: streams stay open. */
  readonly requestTimeoutSeconds: number
  /** Idle time of a kept-alive connection between requests, seconds. */
  readonly keepAliveTimeoutSeconds: number
  /** Open connections one address may hold; more are closed at once. */
  readonly maxConnectionsPerAddress: number
  /** Trusted proxies carry many clients: they are not capped. */
  readonly isTrustedProxy: (address: string) => boolean
}

/**
 * Applies the slow/abusive-client limits to a Node HTTP server: the three
 * timeouts (checked every second, not Node's default 30 s) and a cap on open
 * connections per remote address.
 */
export const applyConnectionLimits = (server: Server, limits: ConnectionLimits): void => {
  server.requestTimeout = limits.requestTimeoutSeconds * 1000
  server.headersTimeout = Math.min(limits.headersTimeoutSeconds, limits.requestTimeoutSeconds) * 1000
  server.keepAliveTimeout = limits.keepAliveTimeoutSeconds * 1000
  const open = new Map<string, number>()
  server.on("connection", (socket: Socket) => {
    const address = socket.remoteAddress ?? "unknown"
    if (limits.isTrustedProxy(address)) return
    const count = (open.get(address) ?? 0) + 1
    if (count > limits.maxConnectionsPerAddress) {
      socket.destroy()
      return
    }
    open.set(address, count)
    socket.once("close", () => {
      const left = (open.get(address) ?? 1) - 1
      if (left <= 0) open.delete(address)
      else open.set(address, left)
    })
  })
}
