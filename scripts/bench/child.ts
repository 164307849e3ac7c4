/**
 * Child processes of `npm run bench`: spawned with piped output and an IPC
 * channel, always killed. Each child preloads scripts/bench/probe.ts, so its
 * CPU time and memory can be asked for (`usage`).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import { setTimeout as sleep } from "node:timers/promises"
import { fileURLToPath } from "node:url"

/** The repository root. */
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

const probeScript = path.join(root, "scripts/bench/probe.ts")

/** A child's own account of its resources (scripts/bench/probe.ts). */
export interface Usage {
  /** User + system CPU time so far, ms. */
  readonly cpuMs: number
  /** Resident set size, bytes. */
  readonly rss: number
  readonly heapUsed: number
}

export interface Child {
  readonly name: string
  readonly proc: ChildProcess
  /** The last lines the child wrote (stdout + stderr), for error messages. */
  readonly tail: () => string
  /** Resolves with the first stdout line matching `re`, rejects on exit or timeout. */
  readonly waitForLine: (re: RegExp, timeoutMs: number) => Promise<RegExpExecArray>
  /** Lines written so far, by `level` of JSON log lines (else "stdout"/"stderr"). */
  readonly lineCounts: () => ReadonlyMap<string, number>
  /** A few distinct `event` texts of JSON log lines, with counts. */
  readonly events: () => ReadonlyMap<string, number>
  /**
   * CPU and memory of the child, from its probe (IPC); where the probe does not answer within
   * 2 s, CPU from /proc/<pid>/stat (10 ms ticks) and RSS from /proc/<pid>/status.
   */
  readonly usage: () => Promise<Usage>
  /**
   * SIGTERM, then SIGKILL after `graceMs`; resolves when the child has exited, saying how
   * long that took and whether SIGKILL was needed (undefined when it had already exited).
   */
  readonly kill: (graceMs?: number) => Promise<KillOutcome | undefined>
}

export interface KillOutcome {
  readonly ms: number
  readonly forced: boolean
}

const live = new Set<Child>()

/** Kills every child still running (synchronously, with SIGKILL): for exit paths. */
export const killAllNow = (): void => {
  for (const c of live) {
    if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill("SIGKILL")
  }
  live.clear()
}

process.once("exit", killAllNow)
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    killAllNow()
    process.exit(130)
  })
}

/**
 * Spawns `node [nodeArgs] --import tsx --import probe.ts <script>` in the
 * repository root with `env` added to this process's environment.
 */
export const spawnChild = (
  name: string,
  script: string,
  env: Readonly<Record<string, string>>,
  nodeArgs: ReadonlyArray<string> = []
): Child => {
  const proc = spawn(process.execPath, [...nodeArgs, "--import", "tsx", "--import", probeScript, path.join(root, script)], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe", "ipc"]
  })
  const usageWaiters: Array<(u: Usage) => void> = []
  proc.on("message", (m: unknown) => {
    if (typeof m !== "object" || m === null || Reflect.get(m, "probe") !== "usage") return
    const cpuUs: unknown = Reflect.get(m, "cpuUs")
    const rss: unknown = Reflect.get(m, "rss")
    const heapUsed: unknown = Reflect.get(m, "heapUsed")
    const waiter = usageWaiters.shift()
    if (waiter !== undefined && typeof cpuUs === "number" && typeof rss === "number" && typeof heapUsed === "number") {
      waiter({ cpuMs: cpuUs / 1000, rss, heapUsed })
    }
  })
  const usageFromProc = (): Usage => ({
    cpuMs: processCpuMs(proc.pid) ?? Number.NaN,
    rss: processRssBytes(proc.pid) ?? Number.NaN,
    heapUsed: Number.NaN
  })
  const usage = (): Promise<Usage> =>
    new Promise((resolve) => {
      if (!proc.connected) return resolve(usageFromProc())
      const timer = setTimeout(() => {
        const i = usageWaiters.indexOf(done)
        if (i >= 0) usageWaiters.splice(i, 1)
        resolve(usageFromProc())
      }, 2000)
      const done = (u: Usage) => {
        clearTimeout(timer)
        resolve(u)
      }
      usageWaiters.push(done)
      proc.send("usage")
    })
  const lines: Array<string> = []
  const counts = new Map<string, number>()
  const events = new Map<string, number>()
  const count = (line: string, stream: "stdout" | "stderr") => {
    let key: string = stream
    if (line.startsWith("{")) {
      try {
        const parsed: unknown = JSON.parse(line)
        if (typeof parsed === "object" && parsed !== null) {
          const level: unknown = Reflect.get(parsed, "level")
          const event: unknown = Reflect.get(parsed, "event")
          if (typeof level === "string") key = level
          if (typeof event === "string" && (events.has(event) || events.size < 20)) {
            events.set(event, (events.get(event) ?? 0) + 1)
          }
        }
      } catch {
        // not JSON
      }
    }
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  const keep = (line: string, stream: "stdout" | "stderr") => {
    count(line, stream)
    lines.push(line)
    if (lines.length > 40) lines.shift()
  }
  const watchers = new Set<(line: string) => void>()
  let stdoutRest = ""
  proc.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    const parts = (stdoutRest + chunk).split("\n")
    stdoutRest = parts.pop() ?? ""
    for (const line of parts) {
      keep(line, "stdout")
      for (const w of watchers) w(line)
    }
  })
  let stderrRest = ""
  proc.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    const parts = (stderrRest + chunk).split("\n")
    stderrRest = parts.pop() ?? ""
    for (const line of parts) keep(line, "stderr")
  })
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()))
  const tail = () => [...lines, stdoutRest, stderrRest].filter((l) => l.length > 0).slice(-20).join("\n")

  const child: Child = {
    name,
    proc,
    tail,
    lineCounts: () => counts,
    usage,
    events: () => events,
    waitForLine: (re, timeoutMs) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          cleanup()
          reject(new Error(`${name}: no line matching ${re} within ${timeoutMs} ms\n${tail()}`))
        }, timeoutMs)
        const onExit = () => {
          cleanup()
          reject(new Error(`${name} exited (code ${proc.exitCode}, signal ${proc.signalCode})\n${tail()}`))
        }
        const watcher = (line: string) => {
          const m = re.exec(line)
          if (m !== null) {
            cleanup()
            resolve(m)
          }
        }
        const cleanup = () => {
          clearTimeout(timer)
          watchers.delete(watcher)
          proc.off("exit", onExit)
        }
        watchers.add(watcher)
        proc.once("exit", onExit)
      }),
    kill: async (graceMs = 3000) => {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        live.delete(child)
        return undefined
      }
      const started = Date.now()
      let forced = false
      proc.kill("SIGTERM")
      const timer = setTimeout(() => {
        forced = true
        proc.kill("SIGKILL")
      }, graceMs)
      await exited
      clearTimeout(timer)
      live.delete(child)
      return { ms: Date.now() - started, forced }
    }
  }
  live.add(child)
  return child
}

/** A port that was free a moment ago on 127.0.0.1. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once("error", reject)
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      srv.close(() => resolve(port))
    })
  })

/** Polls `url` until it answers 200; fails after `timeoutMs` or when the child exits. */
export const waitForHttp200 = async (child: Child, url: string, timeoutMs: number): Promise<number> => {
  const started = Date.now()
  for (;;) {
    if (child.proc.exitCode !== null || child.proc.signalCode !== null) {
      throw new Error(
        `${child.name} exited before ${url} answered (code ${child.proc.exitCode}, signal ${child.proc.signalCode})\n${child.tail()}`
      )
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) })
      await res.arrayBuffer()
      if (res.status === 200) return Date.now() - started
    } catch {
      // not up yet
    }
    if (Date.now() - started > timeoutMs) {
      throw new Error(`${child.name}: ${url} did not answer 200 within ${timeoutMs} ms\n${child.tail()}`)
    }
    await sleep(100)
  }
}

let clockTicks: number | undefined
const ticksPerSecond = (): number => {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100
    } catch {
      clockTicks = 100
    }
  }
  return clockTicks
}

/**
 * CPU time (user + system, ms) a process has used so far, from
 * `/proc/<pid>/stat`; undefined where that is not available (not Linux).
 */
export const processCpuMs = (pid: number | undefined): number | undefined => {
  if (pid === undefined) return undefined
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    // fields after the command name, which is in parentheses and may contain spaces
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    const utime = Number(fields[11])
    const stime = Number(fields[12])
    if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined
    return ((utime + stime) * 1000) / ticksPerSecond()
  } catch {
    return undefined
  }
}

/** Resident set size (bytes) of a process, from `/proc/<pid>/status`; undefined where not available. */
export const processRssBytes = (pid: number | undefined): number | undefined => {
  if (pid === undefined) return undefined
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))
    return m === null ? undefined : Number(m[1]) * 1024
  } catch {
    return undefined
  }
}

/**
 * Runs a bench child (with --expose-gc) that prints one `<TAG>_JSON {...}`
 * line; returns the parsed JSON and how long the child ran.
 */
export const runJsonChild = async (
  name: string,
  script: string,
  tag: string,
  env: Readonly<Record<string, string>>
): Promise<{ readonly json: unknown; readonly ms: number }> => {
  const started = Date.now()
  const child = spawnChild(name, script, env, ["--expose-gc"])
  try {
    const m = await child.waitForLine(new RegExp(`^${tag}_JSON (.*)$`), 900_000)
    const json: unknown = JSON.parse(m[1] ?? "null")
    return { json, ms: Date.now() - started }
  } finally {
    await child.kill()
  }
}
