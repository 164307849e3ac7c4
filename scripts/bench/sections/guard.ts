/**
 * Row guard: admit + settle p50 vs one single-row INSERT on the same in-memory
 * PGlite (scripts/bench/guard.ts, child process, in-process calls), plus the
 * heap of idle GuardStates as detail.
 */
import { runJsonChild } from "../child.ts"
import { cfg, log } from "../config.ts"
import { at } from "../mcp.ts"
import { addText, addVerdict, fmt } from "../report.ts"

interface Micro {
  readonly n: number
  readonly mean: number
  readonly p50: number
  readonly p99: number
}

const num = (body: unknown, ...keys: ReadonlyArray<string>): number => {
  const v = at(body, ...keys)
  return typeof v === "number" ? v : Number.NaN
}
const micro = (body: unknown, key: string): Micro => ({
  n: num(body, key, "n"),
  mean: num(body, key, "mean"),
  p50: num(body, key, "p50"),
  p99: num(body, key, "p99")
})

export const runGuard = async (): Promise<void> => {
  log(`guard: scripts/bench/guard.ts (N=${cfg.guardN}, ${cfg.guardAgents} idle GuardStates)`)
  const { json: g, ms } = await runJsonChild("guard bench", "scripts/bench/guard.ts", "GUARD", {
    GUARD_BENCH_N: String(cfg.guardN),
    GUARD_BENCH_AGENTS: String(cfg.guardAgents)
  })
  const insert = micro(g, "floorInsert")
  const select = micro(g, "floorSelect")
  const pair = micro(g, "admitSettle")
  const rows: ReadonlyArray<readonly [string, Micro]> = [
    ["floor: SELECT 1", select],
    ["floor: INSERT one usage_logs row", insert],
    ["admit (SMS, US number)", micro(g, "admit")],
    ["settle (ok → usage_logs)", micro(g, "settle")],
    ["admit + settle (SMS, US number)", pair],
    ["admit + settle (email)", micro(g, "admitSettleEmail")]
  ]
  const w = Math.max(...rows.map(([l]) => l.length))
  const lines = [
    `guard path (scripts/bench/guard.ts, ${(ms / 1000).toFixed(0)} s: in-memory PGlite, in-process calls): µs, and ×INSERT = p50 / one single-row INSERT's p50`,
    "",
    ...rows.map(([label, s]) =>
      `${label.padEnd(w)}  n ${fmt(s.n, 0).padStart(5)}  mean ${fmt(s.mean, 1).padStart(7)}  p50 ${fmt(s.p50, 1).padStart(7)}  ` +
      `p99 ${fmt(s.p99, 1).padStart(7)}  ×INSERT ${fmt(s.p50 / insert.p50, 2).padStart(5)}  ×SELECT 1 ${fmt(s.p50 / select.p50, 2).padStart(5)}`
    ),
    "",
    `heap per idle GuardState (${fmt(num(g, "idleStates"), 0)} agents, via load): ${fmt(num(g, "heapPerGuardState"), 0)} B ` +
    `(load ${fmt(num(g, "loadUsPerAgent"), 0)} µs/agent); with 20 window entries: ${fmt(num(g, "heapPerWarmGuardState"), 0)} B`
  ]
  addText(lines.join("\n"))
  addVerdict({ id: "guard", qualifier: "", value: pair.p50, floor: insert.p50, floorLabel: "one INSERT p50" })
}
