/**
 * The soak (`--soak MINUTES`): mixed load on the embedded database (PGlite in
 * a directory) for MINUTES — BENCH_SOAK_SENDERS MCP senders agent→agent over
 * the real server (A→B, B→A, …), BENCH_SOAK_POSTERS signed inbound posters to
 * a third agent, the callback receiver here — sampling the server's RSS every
 * BENCH_SOAK_SAMPLE_S seconds. After the load stops: how long until every
 * callback was delivered (delivered == sends + inbound accepted).
 *
 * Verdict: no errors; RSS flat after warm-up (least-squares slope of the
 * samples after min(BENCH_SOAK_WARMUP_S, MINUTES/3) at most
 * BENCH_SOAK_MAX_SLOPE_MB_MIN); backlog drained within BENCH_SOAK_MAX_DRAIN_S.
 */
import { setTimeout as sleep } from "node:timers/promises"
import { cfg, log } from "../config.ts"
import { accepted, describeStatuses, postAll, prepareSmsPosts } from "../inbound.ts"
import { withClient } from "../measure.ts"
import { addText, fmt } from "../report.ts"
import { provision, type Provisioned, sendSms, type Server, withServer } from "../server.ts"
import { nowMs, slope } from "../stats.ts"

const MB = 1024 * 1024
/** Inbound posts per batch of the posters (each poster sends its share of a batch one after another). */
const POST_BATCH = 50

interface Sample {
  /** Seconds since the load started. */
  readonly t: number
  readonly rssMb: number
  readonly sends: number
  readonly inbound: number
  readonly delivered: number
}

interface Counters {
  sends: number
  inbound: number
  errors: number
  readonly errorTexts: Array<string>
}

const noteError = (c: Counters, text: string): void => {
  c.errors++
  if (c.errorTexts.length < 5 && !c.errorTexts.includes(text)) c.errorTexts.push(text.slice(0, 200))
}

const sender = (server: Server, from: Provisioned, to: Provisioned, c: Counters, stopped: () => boolean) =>
  withClient(server.url, from.token, async (client) => {
    for (let i = 0; !stopped(); i++) {
      try {
        await sendSms(client, from, to.agentId, `soak ${i}`)
        c.sends++
      } catch (e) {
        noteError(c, e instanceof Error ? e.message : String(e))
        await sleep(100)
      }
    }
  })

const posters = async (server: Server, target: Provisioned, c: Counters, stopped: () => boolean): Promise<void> => {
  if (cfg.soakPosters === 0 || target.number === undefined) return
  for (let batch = 0; !stopped(); batch++) {
    const posts = prepareSmsPosts({
      baseUrl: server.base,
      agentId: target.agentId,
      authToken: server.sandboxToken,
      from: cfg.humanNumber,
      to: target.number,
      n: POST_BATCH * cfg.soakPosters,
      label: `soak ${batch}`
    })
    const run = await postAll({
      host: "127.0.0.1",
      port: server.port,
      posts,
      concurrency: cfg.soakPosters,
      onAnswer: (status) => {
        if (status >= 200 && status < 300) c.inbound++
      }
    })
    if (accepted(run) < posts.length) noteError(c, `inbound: ${describeStatuses(run)}; ${run.failures.join(" | ")}`)
  }
}

const series = (samples: ReadonlyArray<Sample>): string =>
  samples.map((s) => `${s.t.toFixed(0)}s:${s.rssMb.toFixed(0)}`).join(" ")

/** Runs the soak and adds its report; true when its verdict is PASS. */
export const runSoak = async (minutes: number): Promise<boolean> => {
  const durationMs = minutes * 60_000
  const warmupS = Math.min(cfg.soakWarmupS, (minutes * 60) / 3)
  return withServer({ mode: "disk", label: "soak", poolSize: 2 * cfg.soakSenders + 10 }, async (server) => {
    const senders: Array<Provisioned> = []
    const target = await withClient(server.url, server.master, async (c) => {
      for (let i = 0; i < Math.max(2, cfg.soakSenders); i++) senders.push(await provision(c, `soak-sender-${i}`))
      return provision(c, "soak-inbound")
    })
    const counters: Counters = { sends: 0, inbound: 0, errors: 0, errorTexts: [] }
    let stop = false
    const stopped = () => stop
    const samples: Array<Sample> = []
    const rss0 = (await server.child.usage()).rss / MB
    log(`soak: ${minutes} min, ${cfg.soakSenders} senders + ${cfg.soakPosters} inbound posters; RSS at start ${rss0.toFixed(0)} MB`)
    const t0 = nowMs()
    const sample = async () => {
      const u = await server.child.usage()
      const s: Sample = {
        t: (nowMs() - t0) / 1000,
        rssMb: u.rss / MB,
        sends: counters.sends,
        inbound: counters.inbound,
        delivered: server.receiver.total()
      }
      samples.push(s)
      log(`soak: ${s.t.toFixed(0)} s, RSS ${s.rssMb.toFixed(0)} MB, sends ${s.sends}, inbound ${s.inbound}, callbacks ${s.delivered}`)
    }
    // a loader that fails outright (e.g. cannot connect) counts as an error; the others go on
    const guarded = (p: Promise<void>) => p.catch((e: unknown) => noteError(counters, e instanceof Error ? e.message : String(e)))
    const load = Promise.all([
      ...Array.from({ length: cfg.soakSenders }, (_, i) =>
        guarded(sender(server, senders[i % senders.length] as Provisioned, senders[(i + 1) % senders.length] as Provisioned, counters, stopped))),
      guarded(posters(server, target, counters, stopped))
    ])
    while (nowMs() - t0 < durationMs) {
      await sleep(Math.min(cfg.soakSampleS * 1000, Math.max(0, durationMs - (nowMs() - t0))))
      await sample()
    }
    stop = true
    await load
    const loadEnd = nowMs()
    const expected = counters.sends + counters.inbound
    const deliveredAtStop = server.receiver.total()
    log(`soak: load stopped; ${deliveredAtStop} of ${expected} callbacks delivered; waiting for the rest`)
    const after5: { n: number | undefined } = { n: undefined }
    const probe5 = sleep(5000).then(() => {
      after5.n = server.receiver.total()
    })
    let drainedAt: number | undefined
    while (nowMs() - loadEnd < cfg.forwardTimeoutMs) {
      if (server.receiver.total() >= expected) {
        drainedAt = nowMs()
        break
      }
      await sleep(50)
    }
    await probe5
    const rssEnd = (await server.child.usage()).rss / MB
    const drainS = drainedAt === undefined ? Number.NaN : (drainedAt - loadEnd) / 1000
    const loadS = (loadEnd - t0) / 1000

    const steady = samples.filter((s) => s.t >= warmupS)
    const slopeMbMin = slope(steady.map((s) => ({ x: s.t / 60, y: s.rssMb })))
    const first = steady[0]
    const last = steady[steady.length - 1]
    const flat = Number.isFinite(slopeMbMin) && slopeMbMin <= cfg.soakMaxSlope
    const drained = Number.isFinite(drainS) && drainS <= cfg.soakMaxDrainS
    const clean = counters.errors === 0
    addText([
      `SOAK — ${minutes} min on the embedded database (PGlite in a directory): ${cfg.soakSenders} MCP senders agent→agent, ` +
      `${cfg.soakPosters} signed inbound posters, callbacks to the receiver here; RSS sampled every ${cfg.soakSampleS} s`,
      `  load ${loadS.toFixed(0)} s: ${counters.sends} sends (${fmt(counters.sends / loadS, 1)}/s), ${counters.inbound} inbound ` +
      `(${fmt(counters.inbound / loadS, 1)}/s), ${counters.errors} errors` +
      (counters.errorTexts.length > 0 ? ` — first: ${counters.errorTexts.join(" | ")}` : ""),
      `  RSS MB (t since load start): start ${rss0.toFixed(0)} | ${series(samples)} | after drain ${rssEnd.toFixed(0)}`,
      `  after warm-up (${warmupS.toFixed(0)} s, ${steady.length} samples): first ${fmt(first?.rssMb ?? Number.NaN, 0)} MB, ` +
      `last ${fmt(last?.rssMb ?? Number.NaN, 0)} MB, slope ${fmt(slopeMbMin, 2)} MB/min (limit ${cfg.soakMaxSlope})`,
      `  callbacks: ${fmt(deliveredAtStop / loadS, 1)}/s delivered during the load; receiver rejected ${server.receiver.rejected()}, ` +
      `repeated ${server.receiver.repeats()}`,
      `  callbacks: expected ${expected} (sends + inbound); delivered ${deliveredAtStop} when the load stopped, ` +
      `${after5.n ?? "-"} 5 s later; ` +
      (drainedAt === undefined
        ? `NOT drained within ${cfg.forwardTimeoutMs / 1000} s (${server.receiver.total()} delivered)`
        : `backlog drained ${drainS.toFixed(1)} s after the load stopped (limit ${cfg.soakMaxDrainS} s)`),
      `  soak verdict: ${flat && drained && clean ? "PASS" : "FAIL"} (errors ${clean ? "none" : counters.errors}; RSS ${
        flat ? "flat" : "NOT flat"
      } after warm-up; backlog ${drained ? "drained" : "NOT drained"} in time)`
    ].join("\n"))
    return flat && drained && clean
  })
}
