/** SDK client helpers for `npm run bench`. */
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { nowMs } from "./stats.ts"

export interface Connected {
  readonly client: Client
  readonly transport: StreamableHTTPClientTransport
  /** Closes the session (DELETE) and the client. */
  readonly close: () => Promise<void>
}

/** Connects an SDK client (Streamable HTTP, stateful session) to `url`. */
export const connect = async (url: string, bearer?: string): Promise<Connected> => {
  const transport = new StreamableHTTPClientTransport(
    new URL(url),
    bearer === undefined ? {} : { requestInit: { headers: { Authorization: `Bearer ${bearer}` } } }
  )
  const client = new Client({ name: "agentos-comms-bench", version: "0.0.0" })
  await client.connect(transport)
  return {
    client,
    transport,
    close: async () => {
      try {
        await transport.terminateSession()
      } catch {
        // the server may already be gone
      }
      await client.close()
    }
  }
}

export interface ToolOutcome {
  readonly isError: boolean
  /** `structuredContent`, else the first text content parsed as JSON, else the raw text. */
  readonly body: unknown
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null

/** Calls a tool and reads its outcome; a JSON-RPC failure rejects. */
export const callTool = async (
  client: Client,
  name: string,
  args: Record<string, unknown>
): Promise<ToolOutcome> => {
  const result: unknown = await client.callTool({ name, arguments: args })
  if (!isRecord(result)) return { isError: true, body: result }
  const isError = result["isError"] === true
  if (result["structuredContent"] !== undefined) return { isError, body: result["structuredContent"] }
  const content = result["content"]
  const first: unknown = Array.isArray(content) ? content[0] : undefined
  const text = isRecord(first) && typeof first["text"] === "string" ? first["text"] : undefined
  if (text === undefined) return { isError, body: result }
  try {
    return { isError, body: JSON.parse(text) }
  } catch {
    return { isError, body: text }
  }
}

/** A readable one-line description of a tool error body (`{ error: { code, message } }`). */
export const describeError = (body: unknown): string => {
  const error = isRecord(body) ? body["error"] : undefined
  if (isRecord(error)) return `${String(error["code"])}: ${String(error["message"])}`
  return JSON.stringify(body)
}

/** Reads a string field of a tool's structured output. */
export const stringField = (body: unknown, field: string): string | undefined => {
  const v = isRecord(body) ? body[field] : undefined
  return typeof v === "string" ? v : undefined
}

export interface Timed {
  readonly latencies: ReadonlyArray<number>
  readonly wallMs: number
}

/** Runs `op(i)` for i in [0, n) one after another, timing each. */
export const sequential = async (n: number, op: (i: number) => Promise<void>): Promise<Timed> => {
  const latencies: Array<number> = []
  const start = nowMs()
  for (let i = 0; i < n; i++) {
    const t0 = nowMs()
    await op(i)
    latencies.push(nowMs() - t0)
  }
  return { latencies, wallMs: nowMs() - start }
}

/**
 * Runs `total` operations over `workers` concurrent loops (each loop runs its
 * operations one after another with its own worker index), timing each.
 */
export const concurrent = async (
  workers: number,
  total: number,
  op: (worker: number, i: number) => Promise<void>
): Promise<Timed> => {
  const latencies: Array<number> = []
  let next = 0
  const start = nowMs()
  await Promise.all(Array.from({ length: workers }, async (_, w) => {
    for (;;) {
      const i = next++
      if (i >= total) return
      const t0 = nowMs()
      await op(w, i)
      latencies.push(nowMs() - t0)
    }
  }))
  return { latencies, wallMs: nowMs() - start }
}

/** `body[k1][k2]…` when every step is an object. */
export const at = (body: unknown, ...keys: ReadonlyArray<string>): unknown => {
  let cur = body
  for (const k of keys) cur = isRecord(cur) ? cur[k] : undefined
  return cur
}
