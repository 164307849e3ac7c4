/**
 * Runner processes for the multi-process cluster tests and the cluster bench: `src/runner.ts`
 * children on loopback sharing one PostgreSQL database, each with its own HTTP port and runner
 * address, plus small MCP helpers over their HTTP endpoints.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { CallToolResultSchema } from "@modelcontextprotocol/sdk/types.js"
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as net from "node:net"
import * as path from "node:path"

export const MASTER = "cluster-master-token-0123456789"
export const ADMIN = "cluster-admin-token-0123456789"
const ROOT = path.resolve(import.meta.dirname, "../..")

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("no free port"))))
    })
  })

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Environment shared by every runner of one cluster (secrets must be the same on all of them). */
export const clusterEnv = (databaseUrl: string, extra: Record<string, string> = {}): Record<string, string> => ({
  DATABASE_URL: databaseUrl,
  HOST: "127.0.0.1",
  MASTER_SECURITY_TOKEN: MASTER,
  ADMIN_TOKEN: ADMIN,
  SANDBOX_AUTH_TOKEN: "cluster-sandbox-auth-token-0001",
  TCPA_QUIET_HOURS: "off",
  INITIAL_AGENT_POOL_SIZE: "20",
  CLUSTER_SHARDS: "30",
  LOG_LEVEL: "Warning",
  // every test client comes from 127.0.0.1: the per-address edge limits would throttle the load itself
  RATE_LIMIT_PER_ADDRESS_PER_SECOND: "100000",
  RATE_LIMIT_PER_ADDRESS_BURST: "100000",
  MAX_CONNECTIONS_PER_ADDRESS: "4096",
  ...extra
})

/** Applies the app's migrations once (`npm run migrate`), before any runner starts. */
export const migrate = (env: Record<string, string>) =>
  execFileSync(process.execPath, ["--import", "tsx", "scripts/migrate.ts"], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: "utf8"
  })

export class Runner {
  proc: ChildProcess | undefined
  log = ""
  constructor(
    readonly index: number,
    readonly httpPort: number,
    readonly runnerPort: number,
    readonly env: Record<string, string>
  ) {}

  get url() {
    return `http://127.0.0.1:${this.httpPort}`
  }

  start() {
    const env: Record<string, string | undefined> = {
      ...process.env,
      ...this.env,
      PORT: String(this.httpPort),
      CLUSTER_RUNNER_ADDRESS: `127.0.0.1:${this.runnerPort}`
    }
    delete env["NODE_OPTIONS"]
    const proc = spawn(process.execPath, ["--import", "tsx", "src/runner.ts"], {
      cwd: ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"]
    })
    const keep = (chunk: Buffer) => {
      this.log = (this.log + chunk.toString()).slice(-20_000)
    }
    proc.stdout?.on("data", keep)
    proc.stderr?.on("data", keep)
    this.proc = proc
    return this
  }

  /** Resolves when the process exited. */
  exited(): Promise<void> {
    const proc = this.proc
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve()
    return new Promise((resolve) => proc.once("exit", () => resolve()))
  }

  async stop(signal: NodeJS.Signals) {
    const done = this.exited()
    this.proc?.kill(signal)
    await done
  }

  /** Polls /health/ready until it answers 200 with the cluster runtime. */
  async ready(timeoutMs = 90_000): Promise<Record<string, unknown>> {
    const until = Date.now() + timeoutMs
    while (Date.now() < until) {
      if (this.proc?.exitCode !== null && this.proc?.exitCode !== undefined) {
        throw new Error(`runner ${this.index} exited (${this.proc.exitCode}):\n${this.log}`)
      }
      try {
        const res = await fetch(`${this.url}/health/ready`)
        if (res.status === 200) return (await res.json()) as Record<string, unknown>
      } catch {
        // not listening yet
      }
      await sleep(250)
    }
    throw new Error(`runner ${this.index} not ready after ${timeoutMs} ms:\n${this.log}`)
  }
}

/** Starts `n` runners (staggered by `staggerMs`) and waits until each is ready. */
export const startRunners = async (n: number, env: Record<string, string>, staggerMs = 0) => {
  const runners: Array<Runner> = []
  for (let i = 0; i < n; i++) {
    runners.push(new Runner(i, await freePort(), await freePort(), env).start())
    if (staggerMs > 0) await sleep(staggerMs)
  }
  await Promise.all(runners.map((r) => r.ready()))
  return runners
}

export const mcp = async (url: string, bearer: string) => {
  const client = new Client({ name: "cluster-test", version: "0.0.0" })
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${bearer}` } }
    })
  )
  return client
}

export const tool = async (client: Client, name: string, args: Record<string, unknown>) => {
  const result = CallToolResultSchema.parse(await client.callTool({ name, arguments: args }))
  const first = result.content[0]
  if (first?.type !== "text") throw new Error("expected a text result")
  return { isError: result.isError === true, json: JSON.parse(first.text) as Record<string, unknown> }
}

export const provisionArgs = (agentId: string) => ({
  agentId,
  displayName: `Agent ${agentId}`,
  greeting: "Hello, you reached a test agent.",
  systemPrompt: "You are a helpful test agent.",
  country: "US",
  capabilities: { phone: true, whatsapp: false, email: false, voiceAi: false }
})

/** Provisions `agentId` through `client` (master token); returns the agent's own token. */
export const provision = async (client: Client, agentId: string): Promise<string> => {
  const out = await tool(client, "comms_provision_channels", provisionArgs(agentId))
  const token = out.json["securityToken"]
  if (typeof token !== "string") throw new Error(`provision failed: ${JSON.stringify(out.json)}`)
  return token
}
