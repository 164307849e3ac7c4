/**
 * Rows status, provision, send: `comms_provision_channels`,
 * `comms_get_channel_status` and `comms_send_message` over MCP against our
 * server child, sequential, vs the MCP floor's sequential no-op.
 */
import { cfg, has, log } from "../config.ts"
import { elapsedSince, measure, pick, withClient, withClients } from "../measure.ts"
import { callTool, concurrent, type Connected, describeError, sequential } from "../mcp.ts"
import { addDetail, addNote, addVerdict } from "../report.ts"
import { provision, type Provisioned, type Server, sendSms } from "../server.ts"
import { MCP_TABLE, type McpFloor } from "./mcpFloor.ts"

/** Provisions done before the timed ones (warm-up), with their own agentIds. */
export const PROVISION_WARMUP = 5
/** Agents provisioned (untimed) for the status calls when the provision row is not run. */
const STATUS_AGENTS = 20

/** Agents the tools rows provision (for INITIAL_AGENT_POOL_SIZE). */
export const toolsPoolSize = (): number => PROVISION_WARMUP + Math.max(cfg.m, STATUS_AGENTS) + 2

export const runTools = async (server: Server, floor: McpFloor, qualifier: string): Promise<void> => {
  const prefix = qualifier.length > 0 ? `${qualifier}: ` : ""
  const floorLabel = "MCP SDK no-op p50"
  if (has("status") || has("provision")) {
    const agents: Array<Provisioned> = []
    await withClient(server.url, server.master, async (c) => {
      for (let i = 0; i < PROVISION_WARMUP; i++) await provision(c, `bench-warm-${i}`)
      if (has("provision")) {
        log(`${prefix}${PROVISION_WARMUP} warm-up + ${cfg.m} sequential provisions`)
        const prov = await measure(server.child, () =>
          sequential(cfg.m, async (i) => {
            agents.push(await provision(c, `bench-${i}`))
          }))
        addDetail(MCP_TABLE, { label: `${prefix}provision, sequential`, summary: prov, floor: floor.seq })
        addVerdict({ id: "provision", qualifier, value: prov.p50, floor: floor.seq.p50, floorLabel })
      } else {
        for (let i = 0; i < STATUS_AGENTS; i++) agents.push(await provision(c, `bench-${i}`))
      }
      if (!has("status")) return
      log(`${prefix}${cfg.warmup} warm-up + ${cfg.k} sequential status calls`)
      await sequential(cfg.warmup, (i) => status(c, pick(agents, i)))
      const seq = await measure(server.child, () => sequential(cfg.k, (i) => status(c, pick(agents, i))))
      addDetail(MCP_TABLE, { label: `${prefix}status, sequential`, summary: seq, floor: floor.seq })
      addVerdict({ id: "status", qualifier, value: seq.p50, floor: floor.seq.p50, floorLabel })
    })
    if (has("status") && floor.conc !== undefined) {
      const concFloor = floor.conc
      log(`${prefix}${cfg.concN} status calls over ${cfg.concurrency} clients`)
      await withClients(server.url, server.master, cfg.concurrency, async (clients) => {
        const op = (w: number, i: number) => status(pick(clients, w), pick(agents, i))
        await concurrent(clients.length, Math.min(cfg.warmup, cfg.concN), op)
        const conc = await measure(server.child, () => concurrent(clients.length, cfg.concN, op))
        addDetail(MCP_TABLE, { label: `${prefix}status, ${cfg.concurrency} clients`, summary: conc, floor: concFloor })
      })
    }
  }
  if (has("send")) await runSends(server, floor, qualifier, prefix)
}

const status = async (c: Connected, agent: Provisioned): Promise<void> => {
  const out = await callTool(c.client, "comms_get_channel_status", { agentId: agent.agentId, securityToken: agent.token })
  if (out.isError) throw new Error(`comms_get_channel_status(${agent.agentId}) returned isError: ${describeError(out.body)}`)
}

const runSends = async (server: Server, floor: McpFloor, qualifier: string, prefix: string): Promise<void> => {
  const [a, b] = await withClient(server.url, server.master, async (c) =>
    [await provision(c, "bench-msg-a"), await provision(c, "bench-msg-b")] as const)
  await withClient(server.url, a.token, async (c) => {
    // to a human number: the sandbox outbox (TCPA quiet hours are off in the bench server)
    log(`${prefix}${cfg.sendWarmup} warm-up + ${cfg.sendK} sequential sends to a human number`)
    await sequential(cfg.sendWarmup, (i) => sendSms(c, a, cfg.humanNumber, `bench warm-up ${i}`))
    const human = await measure(server.child, () => sequential(cfg.sendK, (i) => sendSms(c, a, cfg.humanNumber, `bench message ${i}`)))
    addDetail(MCP_TABLE, { label: `${prefix}send_message → human, sequential`, summary: human, floor: floor.seq })
    addVerdict({ id: "send", qualifier, value: human.p50, floor: floor.seq.p50, floorLabel: "MCP SDK no-op p50" })
    addVerdict({
      id: "sendCpu",
      qualifier,
      value: human.serverCpuMsPerOp,
      floor: floor.seq.serverCpuMsPerOp,
      floorLabel: "no-op srv CPU/call"
    })
    if (!cfg.sendToAgent) return

    // to agent B by agentId: sandbox delivery to B's signed inbound webhook, then B's callback to the receiver
    log(`${prefix}${cfg.sendWarmup} warm-up + ${cfg.sendK} sequential sends to another agent`)
    const before = server.receiver.count(b.agentId)
    await sequential(cfg.sendWarmup, (i) => sendSms(c, a, b.agentId, `bench warm-up ${i}`))
    const toAgent = await measure(server.child, () => sequential(cfg.sendK, (i) => sendSms(c, a, b.agentId, `bench message ${i}`)))
    addDetail(MCP_TABLE, { label: `${prefix}send_message → agent, sequential`, summary: toAgent, floor: floor.seq })
    const total = cfg.sendWarmup + cfg.sendK
    const drainStart = Date.now()
    const drained = await server.receiver.waitFor(b.agentId, before + total, cfg.forwardTimeoutMs)
    addNote(
      drained === undefined
        ? `${prefix}agent-to-agent sends: only ${server.receiver.count(b.agentId) - before} of ${total} reached the ` +
          `callback receiver (as B's inbound) within ${cfg.forwardTimeoutMs / 1000} s`
        : `${prefix}agent-to-agent sends: all ${total} reached the callback receiver as B's inbound ` +
          `(${elapsedSince(drainStart)} after the last send was answered)`
    )
  })
}
