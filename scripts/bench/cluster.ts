/**
 * The cluster section of `npm run bench` (one entry, `clusterBench`, for the bench menu): runner
 * processes (src/runner.ts) on a throwaway PostgreSQL on loopback, measured with 3 runners and
 * with 1 on the same machine —
 *   - sends/s: `comms_send_message` over MCP, clients spread over every runner, several agents;
 *   - inbound/s: signed SMS webhooks posted to every runner;
 *   - failover: SIGKILL of one of 3 runners → every agent answering again through the others.
 * Ratios 3-vs-1 are what to compare across runs; on one 2-core machine 3 runners share the same
 * CPUs, so the ratio shows the cost of the hops, not a scale-out gain.
 */
import type { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { randomBytes } from "node:crypto"
import { computeTwilioSignature } from "../../src/providers/twilio/TwilioSignature.ts"
import { freshPgDatabase, startPostgres } from "../../test/support/postgres.ts"
import { clusterEnv, MASTER, mcp, migrate, provision, type Runner, sleep, startRunners, tool } from "../../test/cluster/runners.ts"

export interface ClusterBenchResult {
  readonly sendsPerSecond: { readonly one: number; readonly three: number }
  readonly inboundPerSecond: { readonly one: number; readonly three: number }
  /** SIGKILL of one of three runners → every agent answered again (ms). */
  readonly failoverMs: number
}

const AUTH = "cluster-bench-sandbox-auth-0001"
const AGENTS = 6

const pool = async <A>(n: number, concurrency: number, f: (i: number) => Promise<A>) => {
  let next = 0
  const out: Array<A> = []
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) {
      const i = next++
      out.push(await f(i))
    }
  }))
  return out
}

interface Setup {
  readonly runners: ReadonlyArray<Runner>
  readonly agents: ReadonlyArray<{ readonly id: string; readonly number: string; readonly clients: ReadonlyArray<Client> }>
  readonly close: () => Promise<void>
}

const setUp = async (pgUrl: string, n: number): Promise<Setup> => {
  const env = clusterEnv(await freshPgDatabase(pgUrl), {
    SANDBOX_AUTH_TOKEN: AUTH,
    DEFAULT_MAX_MESSAGES_PER_DAY_SAME_CONTACT: "1000000",
    LOG_LEVEL: "Error"
  })
  migrate(env)
  const runners = await startRunners(n, env)
  const master = await mcp(runners[0]!.url, MASTER)
  const all: Array<Client> = [master]
  const agents = []
  for (let a = 0; a < AGENTS; a++) {
    const id = `bench-${a}`
    const token = await provision(master, id)
    await tool(master, "comms_set_agent_limits", {
      agentId: id,
      limits: { maxActionsPerMinute: 1_000_000, maxActionsPerHour: 1_000_000, maxActionsPerDay: 1_000_000, maxSpendPerDay: 1_000_000, maxSpendPerMonth: 1_000_000 }
    })
    const status = await tool(master, "comms_get_channel_status", { agentId: id })
    const channels = status.json["channels"] as { phone?: { number?: string } } | undefined
    const clients = await Promise.all(runners.map((r) => mcp(r.url, token)))
    all.push(...clients)
    agents.push({ id, number: String(channels?.phone?.number), clients })
  }
  return {
    runners,
    agents,
    close: async () => {
      await Promise.all(all.map((c) => c.close().catch(() => undefined)))
      await Promise.all(runners.map((r) => r.stop("SIGTERM")))
    }
  }
}

const sendsPerSecond = async (s: Setup, total: number) => {
  const started = performance.now()
  const results = await pool(total, 24, (i) => {
    const agent = s.agents[i % AGENTS]!
    return tool(agent.clients[i % s.runners.length]!, "comms_send_message", {
      agentId: agent.id,
      to: `+1202555${String(100 + (i % 100)).padStart(4, "0")}`,
      channel: "sms",
      body: `bench ${i}`
    })
  })
  const ok = results.filter((r) => r.json["status"] === "queued").length
  return Math.round(ok / ((performance.now() - started) / 1000))
}

const inboundPerSecond = async (s: Setup, total: number) => {
  const posts = Array.from({ length: total }, (_, i) => {
    const agent = s.agents[i % AGENTS]!
    const runner = s.runners[i % s.runners.length]!
    const url = `${runner.url}/webhooks/${agent.id}/sms`
    const params: Record<string, string> = {
      From: `+1202555${String(100 + (i % 100)).padStart(4, "0")}`,
      To: agent.number,
      Body: `inbound ${i}`,
      MessageSid: `SM${randomBytes(16).toString("hex")}`,
      AccountSid: "AC" + "0".repeat(32),
      NumMedia: "0"
    }
    return { url, params, signature: computeTwilioSignature(AUTH, url, params) }
  })
  const started = performance.now()
  const statuses = await pool(total, 24, async (i) => {
    const p = posts[i]!
    const res = await fetch(p.url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": p.signature },
      body: new URLSearchParams(p.params).toString()
    })
    await res.arrayBuffer()
    return res.status
  })
  const ok = statuses.filter((s) => s >= 200 && s < 300).length
  return Math.round(ok / ((performance.now() - started) / 1000))
}

/** SIGKILL the last runner; time until every agent answered a send through the survivors. */
const failover = async (s: Setup) => {
  const victim = s.runners[s.runners.length - 1]!
  const killedAt = performance.now()
  victim.proc?.kill("SIGKILL")
  await victim.exited()
  const answered = await Promise.all(s.agents.map(async (agent, a) => {
    for (let i = 0; performance.now() - killedAt < 60_000; i++) {
      try {
        const out = await tool(agent.clients[0]!, "comms_send_message", {
          agentId: agent.id,
          to: "+12025550150",
          channel: "sms",
          body: `failover ${a} ${i}`
        })
        if (out.json["status"] === "queued") return performance.now() - killedAt
      } catch {
        await sleep(50)
      }
    }
    return Number.POSITIVE_INFINITY
  }))
  return Math.round(Math.max(...answered))
}

/** Runs the whole section; `log` gets one line per measurement. */
export const clusterBench = async (
  options: { readonly sends?: number; readonly inbound?: number; readonly log?: (line: string) => void } = {}
): Promise<ClusterBenchResult> => {
  const log = options.log ?? ((line: string) => process.stdout.write(line + "\n"))
  const sends = options.sends ?? 600
  const inbound = options.inbound ?? 600
  const pg = await startPostgres()
  try {
    const measure = async (n: number) => {
      const s = await setUp(pg.url, n)
      try {
        const out = { sends: await sendsPerSecond(s, sends), inbound: await inboundPerSecond(s, inbound) }
        log(`cluster ${n} runner(s): ${out.sends} sends/s, ${out.inbound} inbound/s`)
        return { s, out }
      } catch (e) {
        await s.close()
        throw e
      }
    }
    const one = await measure(1)
    await one.s.close()
    const three = await measure(3)
    const failoverMs = await failover(three.s).finally(() => three.s.close())
    log(`cluster failover: ${failoverMs} ms from SIGKILL of 1 of 3 runners to every agent answering`)
    return {
      sendsPerSecond: { one: one.out.sends, three: three.out.sends },
      inboundPerSecond: { one: one.out.inbound, three: three.out.inbound },
      failoverMs
    }
  } finally {
    pg.stop()
  }
}

if (process.argv[1] !== undefined && import.meta.url === `file://${process.argv[1]}`) {
  clusterBench({}).then(
    () => process.exit(0),
    (e: unknown) => {
      process.stderr.write(`cluster bench failed: ${e instanceof Error ? e.message : String(e)}\n`)
      process.exit(1)
    }
  )
}
