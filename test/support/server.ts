import * as HttpServer from "@effect/platform/HttpServer"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { CallToolResultSchema } from "@modelcontextprotocol/sdk/types.js"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { TEST_ADMIN_TOKEN, TEST_MASTER_TOKEN, testConfig } from "../../layers/Test.ts"
import { AppLive, HttpLive } from "../../src/Server.ts"

export const MASTER = TEST_MASTER_TOKEN
export const ADMIN = TEST_ADMIN_TOKEN

/**
 * The whole server (sandbox carrier, real HTTP on a free loopback port),
 * configured from `env` instead of the process environment.
 */
export const serverLayer = (env: Record<string, string>) =>
  HttpLive.pipe(Layer.provideMerge(AppLive), Layer.provide(testConfig(env)))

export const baseUrl = Effect.flatMap(HttpServer.HttpServer, ({ address }) =>
  address._tag === "TcpAddress"
    ? Effect.succeed(`http://127.0.0.1:${address.port}`)
    : Effect.dieMessage("expected a TCP address"))

/** An SDK client over Streamable HTTP, optionally with a Bearer token on the connection; closed with the scope. */
export const mcpClient = (url: string, bearer?: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const client = new Client({ name: "e2e", version: "0.0.0" })
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
          requestInit: bearer === undefined ? {} : { headers: { Authorization: `Bearer ${bearer}` } }
        })
      )
      return client
    }),
    (client) => Effect.promise(() => client.close())
  )

export interface ToolOutcome {
  readonly isError: boolean
  readonly json: Record<string, unknown>
  readonly structured: Record<string, unknown> | undefined
}

export const callTool = (client: Client, name: string, args: Record<string, unknown>) =>
  Effect.promise(async (): Promise<ToolOutcome> => {
    const result = CallToolResultSchema.parse(await client.callTool({ name, arguments: args }))
    const first = result.content[0]
    if (first?.type !== "text") throw new Error("expected a text result")
    return { isError: result.isError === true, json: JSON.parse(first.text), structured: result.structuredContent }
  })

export const errorCode = (o: ToolOutcome): string | undefined => {
  const error = o.json["error"]
  return typeof error === "object" && error !== null && "code" in error ? String(error.code) : undefined
}

export const provisionArgs = (agentId: string, extra: Record<string, unknown> = {}) => ({
  agentId,
  displayName: `Agent ${agentId}`,
  greeting: "Hello, you reached a test agent.",
  systemPrompt: "You are a helpful test agent.",
  country: "US",
  capabilities: { phone: true, whatsapp: true, email: true, voiceAi: true },
  ...extra
})
