/**
 * The official MCP conformance suite (@modelcontextprotocol/conformance,
 * pinned in devDependencies, so it runs offline) against the whole server:
 * its general server scenarios, DNS rebinding protection included.
 *
 * The suite imports `fs.globSync` (Node >= 22) for one result-listing call;
 * on Node 20 it is run with `fixtures/conformance/register.mjs` preloaded,
 * which gives the suite's own modules an `fs` with a small `globSync`
 * (nothing installed is modified).
 */
import { expect, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { baseUrl, serverLayer } from "../support/server.ts"

const root = fileURLToPath(new URL("../../", import.meta.url))
const cli = fileURLToPath(new URL("../../node_modules/@modelcontextprotocol/conformance/dist/index.js", import.meta.url))
const preload = fileURLToPath(new URL("./fixtures/conformance/register.mjs", import.meta.url))

/** The general server scenarios (the others need resources, prompts, sampling … which this server does not offer). */
const scenarios = [
  "server-initialize",
  "ping",
  "tools-list",
  "tools-call-error",
  "server-sse-multiple-streams",
  "dns-rebinding-protection"
] as const

const runScenario = (url: string, scenario: string) =>
  Effect.async<{ code: number; output: string }>((resume) => {
    const child = execFile(
      process.execPath,
      ["--import", preload, cli, "server", "--url", `${url}/mcp`, "--scenario", scenario],
      { cwd: root, timeout: 60_000, env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1
        resume(Effect.succeed({ code, output: `${stdout}\n${stderr}` }))
      }
    )
    return Effect.sync(() => child.kill())
  })

layer(serverLayer({ MCP_ANON_SESSIONS_PER_ADDRESS: "20" }), { excludeTestServices: true, timeout: 120_000 })(
  "MCP conformance suite, general server scenarios",
  (it) => {
    for (const scenario of scenarios) {
      it.effect(scenario, () =>
        Effect.gen(function*() {
          const url = yield* baseUrl
          const { code, output } = yield* runScenario(url, scenario)
          expect(output, output).not.toMatch(/\bFAIL(URE|ED)?\b.*[1-9]/)
          expect(code, output).toBe(0)
        }))
    }
  }
)
