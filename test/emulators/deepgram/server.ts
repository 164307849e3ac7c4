import type { IncomingMessage } from "node:http"
import type { AddressInfo } from "node:net"
import { WebSocketServer } from "ws"

/**
 * A local emulator of Deepgram's live transcription socket (`/v1/listen`):
 * binary μ-law frames in; for every `bytesPerUtterance` bytes of audio, one
 * final `Results` message with `transcript`. Records each connection's query
 * and Authorization header.
 */
export const startDeepgramEmulator = async (options: { readonly transcript: string; readonly bytesPerUtterance: number }) => {
  const connections: Array<{ readonly path: string; readonly query: Record<string, string>; readonly authorization: string | undefined }> = []
  let audioBytes = 0
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 })
  wss.on("connection", (socket, req: IncomingMessage) => {
    const url = new URL(req.url ?? "/", "http://localhost")
    connections.push({ path: url.pathname, query: Object.fromEntries(url.searchParams), authorization: req.headers.authorization })
    let pending = 0
    socket.on("message", (data, isBinary) => {
      if (!isBinary) {
        const m = JSON.parse(data.toString()) as { type?: string }
        if (m.type === "CloseStream") socket.close(1000)
        return
      }
      const n = Buffer.isBuffer(data) ? data.length : 0
      audioBytes += n
      pending += n
      if (pending >= options.bytesPerUtterance) {
        pending = 0
        socket.send(JSON.stringify({
          type: "Results",
          channel_index: [0, 1],
          duration: 0.5,
          start: 0,
          is_final: true,
          speech_final: true,
          channel: { alternatives: [{ transcript: options.transcript, confidence: 0.98, words: [] }] },
          metadata: { request_id: "req-1", model_info: { name: "nova-3", version: "1", arch: "x" }, model_uuid: "m1" }
        }))
      }
    })
  })
  await new Promise<void>((r) => wss.once("listening", () => r()))
  return {
    baseUrl: `http://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    connections,
    audioBytes: () => audioBytes,
    close: () => new Promise<void>((r) => wss.close(() => r()))
  }
}
