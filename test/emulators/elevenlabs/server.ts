import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { toneMulaw } from "../../../src/voice/Audio.ts"

export interface TtsRequest {
  readonly path: string
  readonly query: Record<string, string>
  readonly apiKey: string | undefined
  readonly body: Record<string, unknown>
}

/**
 * A local emulator of ElevenLabs text-to-speech: `POST /v1/text-to-speech/{voice}`
 * and `/stream`, answering `ulaw_8000` audio (headerless μ-law, 8 kHz) of
 * 0.05 s per character, the stream in several chunks.
 */
export const startElevenLabsEmulator = async () => {
  const requests: Array<TtsRequest> = []
  const server = createServer((req, res) => {
    let raw = ""
    req.on("data", (c) => (raw += c))
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://localhost")
      const key = req.headers["xi-api-key"]
      requests.push({
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        apiKey: typeof key === "string" ? key : undefined,
        body: JSON.parse(raw) as Record<string, unknown>
      })
      if (!/^\/v1\/text-to-speech\/[^/]+(\/stream)?$/.test(url.pathname)) {
        res.writeHead(404).end()
        return
      }
      const text = String((JSON.parse(raw) as { text?: string }).text ?? "")
      const audio = toneMulaw(text.length * 0.05)
      res.writeHead(200, { "content-type": "audio/basic" })
      const step = 1600
      let i = 0
      const next = () => {
        if (i >= audio.length) return res.end()
        res.write(audio.subarray(i, i + step))
        i += step
        setTimeout(next, 2)
      }
      next()
    })
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r()))
  }
}
