import { describe, expect, it } from "@effect/vitest"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { CallToolResultSchema } from "@modelcontextprotocol/sdk/types.js"
import * as Effect from "effect/Effect"
import { spawnSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { TEST_MASTER_TOKEN } from "../../layers/Test.ts"

const root = fileURLToPath(new URL("../../", import.meta.url))
const entry = ["--import", "tsx", "src/main.ts"]

const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "agentos-entry-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

/** Runs the real entry point with only `env` (plus PATH) and returns how it ended. */
const runMain = (env: Record<string, string>) =>
  Effect.sync(() =>
    spawnSync(process.execPath, entry, {
      cwd: root,
      env: { PATH: process.env["PATH"] ?? "", ...env },
      encoding: "utf8",
      timeout: 30_000
    })
  )

describe("entry point", () => {
  it.scoped("stdio: the SDK client over stdin/stdout lists the tools and provisions an agent", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const transport = new StdioClientTransport({
        command: process.execPath,
        args: [...entry, "--stdio"],
        cwd: root,
        env: { DATA_DIR: dir, PORT: "0", HOST: "127.0.0.1", MASTER_SECURITY_TOKEN: TEST_MASTER_TOKEN },
        stderr: "pipe"
      })
      const client = new Client({ name: "stdio-e2e", version: "0.0.0" })
      yield* Effect.acquireRelease(
        Effect.promise(() => client.connect(transport)),
        () => Effect.promise(() => client.close())
      )
      const { tools } = yield* Effect.promise(() => client.listTools())
      expect(tools.map((t) => t.name)).toContain("comms_provision_channels")
      expect(tools.map((t) => t.name)).toContain("comms_send_message")
      const result = CallToolResultSchema.parse(
        yield* Effect.promise(() =>
          client.callTool({
            name: "comms_provision_channels",
            arguments: {
              agentId: "desk",
              securityToken: TEST_MASTER_TOKEN,
              displayName: "Desk",
              greeting: "hi",
              systemPrompt: "p",
              country: "US",
              capabilities: { phone: true, whatsapp: false, email: false, voiceAi: false }
            }
          })
        )
      )
      expect(result.isError).toBeFalsy()
      expect(result.structuredContent).toMatchObject({ agentId: "desk", poolSlotsRemaining: 4 })
    }), { timeout: 60_000 })

  it.scoped("a malformed variable stops start-up with one line naming it, and nothing on stdout", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const bad = yield* runMain({ DATA_DIR: dir, PORT: "abc" })
      expect(bad.status).toBe(1)
      expect(bad.stdout).toBe("")
      expect(bad.stderr.trim().split("\n")).toEqual([
        'configuration error: PORT is invalid: expected an integer value but received "abc"'
      ])
      const key = yield* runMain({ DATA_DIR: dir, CREDENTIALS_ENCRYPTION_KEY: "too-short" })
      expect(key.status).toBe(1)
      expect(key.stderr).toContain("CREDENTIALS_ENCRYPTION_KEY is invalid: expected 32 bytes as 64 hex characters or base64")
      const live = yield* runMain({ DATA_DIR: dir, DEMO_MODE: "false" })
      expect(live.status).toBe(1)
      expect(live.stderr).toContain("MASTER_SECURITY_TOKEN is missing")
      expect(live.stderr.trim().split("\n")).toHaveLength(1)
    }), { timeout: 90_000 })
})
