import { createServer, type IncomingMessage } from "node:http"
import type { AddressInfo } from "node:net"

export interface ChatRequest {
  readonly path: string
  readonly authorization: string | undefined
  readonly body: { readonly model: string; readonly stream: boolean; readonly messages: ReadonlyArray<{ role: string; content: string }> }
}

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let data = ""
    req.on("data", (c) => (data += c))
    req.on("end", () => resolve(data))
  })

/**
 * A local emulator of OpenAI's streaming chat completions
 * (`POST /v1/chat/completions`, `stream: true`): answers `reply` word by word
 * as SSE chunks `delayMs` apart, then a finish chunk and `data: [DONE]`; also
 * `POST /v1/audio/speech` (pcm, 24 kHz 16-bit) with a tone. Records requests
 * and whether a stream was cut by the client.
 */
export const startOpenAiEmulator = async (options: { readonly reply: string; readonly delayMs: number }) => {
  const requests: Array<ChatRequest> = []
  let aborted = 0
  const server = createServer(async (req, res) => {
    const raw = await readBody(req)
    if (req.url === "/v1/audio/speech") {
      const samples = new Int16Array(24000 / 2) // 0.5 s
      for (let i = 0; i < samples.length; i++) samples[i] = Math.round(3000 * Math.sin((2 * Math.PI * 440 * i) / 24000))
      res.writeHead(200, { "content-type": "audio/pcm" })
      res.end(Buffer.from(samples.buffer))
      return
    }
    if (req.url !== "/v1/chat/completions") {
      res.writeHead(404).end()
      return
    }
    const body = JSON.parse(raw) as ChatRequest["body"]
    requests.push({ path: req.url, authorization: req.headers.authorization, body })
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
    const words = options.reply.match(/\S+\s*/g) ?? []
    let closed = false
    res.on("close", () => {
      if (!res.writableFinished) {
        closed = true
        aborted++
      }
    })
    const chunk = (delta: Record<string, unknown>, finish: string | null) =>
      `data: ${JSON.stringify({ id: "chatcmpl-1", object: "chat.completion.chunk", created: 0, model: body.model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`
    res.write(chunk({ role: "assistant", content: "" }, null))
    for (const w of words) {
      if (closed) return
      await new Promise((r) => setTimeout(r, options.delayMs))
      if (closed) return
      res.write(chunk({ content: w }, null))
    }
    res.write(chunk({}, "stop"))
    res.write("data: [DONE]\n\n")
    res.end()
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
  const port = (server.address() as AddressInfo).port
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    aborted: () => aborted,
    close: () => new Promise<void>((r) => server.close(() => r()))
  }
}
