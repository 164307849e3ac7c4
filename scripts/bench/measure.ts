/** Timing a measure against a server child: latencies, wall time, and the CPU both sides used meanwhile. */
import type { Child } from "./child.ts"
import type { Connected, Timed } from "./mcp.ts"
import { connect } from "./mcp.ts"
import { type CpuUsed, type Summary, summarize } from "./stats.ts"

export interface CpuMark {
  readonly server: number
  readonly client: NodeJS.CpuUsage
}

/** CPU counters of the server child and of this process, to be read again with `cpuSince`. */
export const cpuMark = async (server: Child): Promise<CpuMark> => ({
  server: (await server.usage()).cpuMs,
  client: process.cpuUsage()
})

export const cpuSince = async (server: Child, mark: CpuMark): Promise<CpuUsed> => {
  const s1 = (await server.usage()).cpuMs
  const c = process.cpuUsage(mark.client)
  return { serverMs: s1 - mark.server, clientMs: (c.user + c.system) / 1000 }
}

/** Runs a timed measure and summarises it, with the CPU the server child and this process used meanwhile. */
export const measure = async (server: Child, run: () => Promise<Timed>): Promise<Summary> => {
  const mark = await cpuMark(server)
  const t = await run()
  return summarize(t.latencies, t.wallMs, await cpuSince(server, mark))
}

export const withClients = async <A>(
  url: string,
  bearer: string | undefined,
  count: number,
  use: (clients: ReadonlyArray<Connected>) => Promise<A>
): Promise<A> => {
  const clients: Array<Connected> = []
  try {
    for (let i = 0; i < count; i++) clients.push(await connect(url, bearer))
    return await use(clients)
  } finally {
    await Promise.allSettled(clients.map((c) => c.close()))
  }
}

export const withClient = <A>(url: string, bearer: string | undefined, use: (client: Connected) => Promise<A>): Promise<A> =>
  withClients(url, bearer, 1, ([c]) => {
    if (c === undefined) throw new Error("no client")
    return use(c)
  })

/** `xs[i mod length]`. */
export const pick = <A>(xs: ReadonlyArray<A>, i: number): A => {
  const x = xs[i % xs.length]
  if (x === undefined) throw new Error("empty list")
  return x
}

export const elapsedSince = (startedMs: number): string => `${((Date.now() - startedMs) / 1000).toFixed(1)} s`
