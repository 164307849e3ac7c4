/**
 * Flags and counts of `npm run bench` (documented at the top of scripts/bench.ts).
 * Flags come from the command line; counts from BENCH_* variables.
 */

export const SECTIONS = [
  "rss",
  "status",
  "provision",
  "send",
  "inbound",
  "guard",
  "memory",
  "filter",
  "voice",
  "abuse",
  "providers",
  "cluster"
] as const
export type Section = (typeof SECTIONS)[number]
/** Run when no --only is given (and no --soak). */
export const DEFAULT_SECTIONS: ReadonlyArray<Section> = ["rss", "status", "provision", "send", "inbound", "guard", "memory"]

export type Mode = "disk" | "memory"

const fail = (message: string): never => {
  process.stderr.write(`bench: ${message}\n(npm run bench -- --help)\n`)
  process.exit(2)
}

const envInt = (name: string, fallback: number, min: number, max: number): number => {
  const raw = process.env[name]
  if (raw === undefined || raw.trim() === "") return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min || n > max) fail(`${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(raw)}`)
  return n
}

const parseList = <A extends string>(flag: string, raw: string, allowed: ReadonlyArray<A>): ReadonlyArray<A> => {
  const out: Array<A> = []
  for (const item of raw.split(",").map((s) => s.trim()).filter((s) => s.length > 0)) {
    const found = allowed.find((a) => a === item)
    if (found === undefined) return fail(`${flag}: unknown ${JSON.stringify(item)} (use ${allowed.join(", ")})`)
    if (!out.includes(found)) out.push(found)
  }
  return out
}

export const USAGE = `npm run bench [-- flags]
  --only a,b       run only these sections: ${SECTIONS.join(", ")}
  --skip a,b       run the default sections but these
  --soak MINUTES   the soak (mixed load for MINUTES on the embedded database); alone unless --only is given too
  --strict         exit 1 when a summary row does not PASS (always 1 when a section fails)
  --modes m[,m]    storage of the server runs: disk (embedded PGlite in a directory, the default) and/or memory
  --help           this text
default sections: ${DEFAULT_SECTIONS.join(", ")} ("filter", the content-filter micro-bench, and the standalone voice, abuse, providers and cluster sections only on request)`

const parseArgs = (argv: ReadonlyArray<string>) => {
  let only: string | undefined
  let skip: string | undefined
  let soak: number | undefined
  let modes = "disk"
  let strict = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? ""
    const [flag, inline] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined]
    const value = (): string => {
      if (inline !== undefined) return inline
      const next = argv[++i]
      return next === undefined ? fail(`${flag} needs a value`) : next
    }
    switch (flag) {
      case "--help":
      case "-h":
        process.stdout.write(USAGE + "\n")
        process.exit(0)
        break
      case "--only":
        only = value()
        break
      case "--skip":
        skip = value()
        break
      case "--soak": {
        const raw = value()
        const n = Number(raw)
        if (!Number.isFinite(n) || n <= 0 || n > 24 * 60) fail(`--soak takes minutes in (0, 1440], got ${JSON.stringify(raw)}`)
        soak = n
        break
      }
      case "--strict":
        strict = true
        break
      case "--modes":
        modes = value()
        break
      default:
        fail(`unknown argument ${JSON.stringify(arg)}`)
    }
  }
  const skipped = skip === undefined ? [] : parseList("--skip", skip, SECTIONS)
  const base = only !== undefined ? parseList("--only", only, SECTIONS) : soak !== undefined ? [] : DEFAULT_SECTIONS
  const modeList = parseList<Mode>("--modes", modes, ["disk", "memory"])
  if (modeList.length === 0) fail("--modes: give disk, memory or both")
  return { sections: base.filter((s) => !skipped.includes(s)), soakMinutes: soak, modes: modeList, strict }
}

const args = parseArgs(process.argv.slice(2))

export const cfg = {
  ...args,
  /** MCP floor: sequential no-op calls (and warm-up before each sequential run). */
  n: envInt("BENCH_N", 2000, 1, 1_000_000),
  warmup: envInt("BENCH_WARMUP", 200, 0, 1_000_000),
  /** Timed provisions, at most 300. */
  m: envInt("BENCH_M", 200, 1, 300),
  /** Timed sequential status calls. */
  k: envInt("BENCH_K", 1000, 1, 1_000_000),
  /** Extra detail rows: status calls over this many concurrent clients (0 = skip). */
  concurrency: envInt("BENCH_CONCURRENCY", 0, 0, 256),
  concN: envInt("BENCH_CONC_N", 2000, 1, 1_000_000),
  sendK: envInt("BENCH_SEND_K", 400, 1, 1_000_000),
  sendWarmup: envInt("BENCH_SEND_WARMUP", 50, 1, 1_000_000),
  /** Also time sends to another agent (detail row; the soak does this anyway). */
  sendToAgent: envInt("BENCH_SEND_TO_AGENT", 0, 0, 1) === 1,
  humanNumber: process.env["BENCH_HUMAN_NUMBER"] ?? "+12025550123",
  inboundN: envInt("BENCH_INBOUND_N", 1500, 1, 1_000_000),
  inboundWarmup: envInt("BENCH_INBOUND_WARMUP", 200, 0, 1_000_000),
  inboundConcurrency: envInt("BENCH_INBOUND_CONCURRENCY", 32, 1, 1024),
  forwardTimeoutMs: envInt("BENCH_FORWARD_TIMEOUT_S", 120, 1, 3600) * 1000,
  guardN: envInt("GUARD_BENCH_N", 1500, 1, 1_000_000),
  guardAgents: envInt("GUARD_BENCH_AGENTS", 1000, 0, 1_000_000),
  agents: envInt("BENCH_AGENTS", 10_000, 1, 1_000_000),
  rssSettleS: envInt("BENCH_RSS_SETTLE_S", 5, 0, 600),
  soakSenders: envInt("BENCH_SOAK_SENDERS", 2, 1, 64),
  soakPosters: envInt("BENCH_SOAK_POSTERS", 4, 0, 256),
  soakWarmupS: envInt("BENCH_SOAK_WARMUP_S", 60, 0, 3600),
  soakSampleS: envInt("BENCH_SOAK_SAMPLE_S", 10, 1, 600),
  /** Verdicts of the soak: RSS slope after warm-up (MB/min) and callback drain time (s). */
  soakMaxSlope: envInt("BENCH_SOAK_MAX_SLOPE_MB_MIN", 2, 0, 10_000),
  soakMaxDrainS: envInt("BENCH_SOAK_MAX_DRAIN_S", 10, 1, 3600),
  serverNodeArgs: (process.env["BENCH_SERVER_NODE_ARGS"] ?? "").split(" ").filter((s) => s.length > 0)
}

export const has = (s: Section): boolean => cfg.sections.includes(s)

export const log = (line: string): void => {
  process.stderr.write(`[bench] ${line}\n`)
}
