/** The MCP floor: a bare MCP SDK server with one no-op tool (scripts/bench/floor-server.ts), child process. */
import { spawnChild } from "../child.ts"
import { cfg, log } from "../config.ts"
import { measure, pick, withClient, withClients } from "../measure.ts"
import { callTool, concurrent, type Connected, describeError, sequential } from "../mcp.ts"
import { addDetail } from "../report.ts"
import type { Summary } from "../stats.ts"

export const MCP_TABLE = "MCP tools — floor: bare MCP SDK (node:http + StreamableHTTPServerTransport, low-level Server, " +
  "no-op tool), child process; SDK client here; sequential rows vs the sequential floor, concurrent vs concurrent"

export interface McpFloor {
  readonly seq: Summary
  readonly conc: Summary | undefined
}

export const runMcpFloor = async (): Promise<McpFloor> => {
  const child = spawnChild("floor server", "scripts/bench/floor-server.ts", { PORT: "0" })
  try {
    const m = await child.waitForLine(/^LISTENING (\d+)$/, 30_000)
    const url = `http://127.0.0.1:${m[1]}/mcp`
    const noop = async (c: Connected) => {
      const out = await callTool(c.client, "noop", {})
      if (out.isError) throw new Error(`floor no-op failed: ${describeError(out.body)}`)
    }
    log(`MCP floor: ${cfg.warmup} warm-up + ${cfg.n} sequential no-op calls`)
    const seq = await withClient(url, undefined, async (c) => {
      await sequential(cfg.warmup, () => noop(c))
      return measure(child, () => sequential(cfg.n, () => noop(c)))
    })
    addDetail(MCP_TABLE, { label: "floor no-op, sequential", summary: seq, floor: undefined })
    let conc: Summary | undefined
    if (cfg.concurrency > 0) {
      log(`MCP floor: ${cfg.concN} no-op calls over ${cfg.concurrency} clients`)
      conc = await withClients(url, undefined, cfg.concurrency, async (clients) => {
        await concurrent(clients.length, Math.min(cfg.warmup, cfg.concN), (w) => noop(pick(clients, w)))
        return measure(child, () => concurrent(clients.length, cfg.concN, (w) => noop(pick(clients, w))))
      })
      addDetail(MCP_TABLE, { label: `floor no-op, ${cfg.concurrency} clients`, summary: conc, floor: undefined })
    }
    return { seq, conc }
  } finally {
    await child.kill()
  }
}
