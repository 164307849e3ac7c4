/** Row memory: heap per idle agent at BENCH_AGENTS agents (scripts/bench/memory.ts, child process). */
import { runJsonChild } from "../child.ts"
import { cfg, log } from "../config.ts"
import { at } from "../mcp.ts"
import { addText, addVerdict, fmt } from "../report.ts"

const num = (body: unknown, key: string): number => {
  const v = at(body, key)
  return typeof v === "number" ? v : Number.NaN
}

export const runMemory = async (): Promise<void> => {
  log(`memory: scripts/bench/memory.ts (${cfg.agents} idle agents)`)
  const { json: m, ms } = await runJsonChild("memory bench", "scripts/bench/memory.ts", "MEMORY", { BENCH_AGENTS: String(cfg.agents) })
  const agents = num(m, "agents")
  const ours = num(m, "heapPerAgent")
  const floor = num(m, "floorPerAgent")
  addText(
    `memory per idle agent (scripts/bench/memory.ts, ${(ms / 1000).toFixed(0)} s: heapUsed delta after GC / agents, ${fmt(agents, 0)} agents): ` +
      `ours ${fmt(ours, 0)} B (${fmt((ours * agents) / 1024 / 1024, 1)} MB for all), floor (Map entry + bounded queue + ` +
      `fiber blocked on Queue.take) ${fmt(floor, 0)} B, ×floor ${fmt(ours / floor, 2)}; start ${fmt(num(m, "startUsPerAgent"), 0)} µs/agent`
  )
  addVerdict({ id: "memory", qualifier: `${fmt(agents, 0)} agents`, value: ours, floor, floorLabel: "Map+queue+fiber" })
}
