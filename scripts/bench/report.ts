/**
 * What `npm run bench` prints: detail tables per section, notes, and the
 * summary of issue 7's table — each row with its figure, the floor measured in
 * the same run, the ratio, the target and PASS/FAIL.
 */
import * as os from "node:os"
import type { Section } from "./config.ts"
import type { Summary } from "./stats.ts"

/** A detail row: a measure and the floor it is compared with (undefined for a floor row). */
export interface Detail {
  readonly label: string
  readonly summary: Summary
  readonly floor: Summary | undefined
  /** False when the row's latencies measure something else than the floor's (no latency ratios). */
  readonly latencyVsFloor?: boolean
}

export type Target =
  /** value / floor at most `limit` */
  | { readonly kind: "maxRatio"; readonly limit: number }
  /** value / floor at least `limit` */
  | { readonly kind: "minRatio"; readonly limit: number }
  /** value itself at most `limit` (in the row's unit) */
  | { readonly kind: "maxValue"; readonly limit: number }

/** The rows of issue 7's table, in its order, with the section that measures each. */
export const TABLE = {
  status: { section: "status", measure: "comms_get_channel_status p50, sequential", unit: "ms", digits: 2, target: { kind: "maxRatio", limit: 1.3 } },
  send: { section: "send", measure: "comms_send_message p50 (→ human, sandbox)", unit: "ms", digits: 2, target: { kind: "maxRatio", limit: 3 } },
  sendCpu: { section: "send", measure: "server CPU per send", unit: "ms", digits: 2, target: { kind: "maxValue", limit: 3 } },
  provision: { section: "provision", measure: "comms_provision_channels p50", unit: "ms", digits: 2, target: { kind: "maxRatio", limit: 5 } },
  accepted: { section: "inbound", measure: "signed inbound SMS accepted", unit: "msg/s", digits: 0, target: { kind: "minRatio", limit: 0.8 } },
  forwarded: { section: "inbound", measure: "inbound forwarded to the callback", unit: "msg/s", digits: 0, target: { kind: "minRatio", limit: 0.6 } },
  drained: { section: "inbound", measure: "callback backlog drained after posts stopped", unit: "s", digits: 1, target: { kind: "maxValue", limit: 10 } },
  guard: { section: "guard", measure: "admit + settle (guard) p50", unit: "µs", digits: 0, target: { kind: "maxRatio", limit: 2 } },
  memory: { section: "memory", measure: "heap per idle agent", unit: "B", digits: 0, target: { kind: "maxValue", limit: 4096 } },
  rss: { section: "rss", measure: "server RSS, embedded, no agents, after start", unit: "MB", digits: 0, target: { kind: "maxValue", limit: 250 } }
} as const satisfies Record<string, {
  readonly section: Section
  readonly measure: string
  readonly unit: string
  readonly digits: number
  readonly target: Target
}>
export type RowId = keyof typeof TABLE

interface Verdict {
  readonly id: RowId
  /** Appended to the measure, e.g. the storage mode or the agent count. */
  readonly qualifier: string
  readonly value: number
  readonly floor: number
  readonly floorLabel: string
}

const details = new Map<string, Array<Detail>>()
const verdicts: Array<Verdict> = []
const notes: Array<string> = []
const texts: Array<string> = []
const failedSections = new Map<Section | "soak", string>()

/** True when a section failed with an error (not merely missed a target). */
export const anySectionFailed = (): boolean => failedSections.size > 0

export const addDetail = (table: string, row: Detail): void => {
  const rows = details.get(table) ?? []
  rows.push(row)
  details.set(table, rows)
}
export const addVerdict = (v: Verdict): void => {
  verdicts.push(v)
}
export const addNote = (line: string): void => {
  notes.push(line)
}
/** A block of text printed as is, after the detail tables (e.g. the soak report). */
export const addText = (block: string): void => {
  texts.push(block)
}
export const sectionFailed = (section: Section | "soak", message: string): void => {
  failedSections.set(section, message.split("\n")[0] ?? message)
  notes.push(`SECTION ${section} FAILED: ${message}`)
}

export const fmt = (x: number, digits: number): string => (Number.isFinite(x) ? x.toFixed(digits) : "-")

export const printRows = (header: ReadonlyArray<string>, body: ReadonlyArray<ReadonlyArray<string>>): void => {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ")
  console.log(line(header))
  console.log(line(header.map((_, i) => "-".repeat(widths[i] ?? 0))))
  for (const r of body) console.log(line(r))
}

const printDetails = (title: string, rows: ReadonlyArray<Detail>): void => {
  const ops = title.startsWith("inbound") ? "msg/s" : "ops/s"
  const latencyRatio = (r: Detail, of: (s: Summary) => number) =>
    r.floor === undefined ? "1" : r.latencyVsFloor === false ? "-" : fmt(of(r.summary) / of(r.floor), 2)
  console.log("")
  console.log(title)
  console.log("")
  printRows(
    ["measure", "n", "p50 ms", "p99 ms", ops, "p50 ×floor", "p99 ×floor", `${ops} ×floor`, "srv CPU ms/op", "srv CPU ×floor", "cli CPU ms/op"],
    rows.map((r) => [
      r.label,
      String(r.summary.n),
      fmt(r.summary.p50, 2),
      fmt(r.summary.p99, 2),
      fmt(r.summary.opsPerSec, 0),
      latencyRatio(r, (x) => x.p50),
      latencyRatio(r, (x) => x.p99),
      r.floor === undefined ? "1" : fmt(r.summary.opsPerSec / r.floor.opsPerSec, 3),
      fmt(r.summary.serverCpuMsPerOp, 2),
      r.floor === undefined ? "1" : fmt(r.summary.serverCpuMsPerOp / r.floor.serverCpuMsPerOp, 2),
      fmt(r.summary.clientCpuMsPerOp, 2)
    ])
  )
}

const targetText = (t: Target, unit: string): string =>
  t.kind === "maxRatio" ? `≤ ${t.limit}×` : t.kind === "minRatio" ? `≥ ${t.limit}×` : `≤ ${t.limit.toLocaleString("en-US")} ${unit}`

const passes = (t: Target, value: number, ratio: number): boolean | undefined => {
  const x = t.kind === "maxValue" ? value : ratio
  if (!Number.isFinite(x)) return undefined
  return t.kind === "minRatio" ? x >= t.limit : x <= t.limit
}

/** The summary: every row of issue 7's table that was to run; returns the number of FAILs. */
const printSummary = (sections: ReadonlyArray<Section>): number => {
  let failures = 0
  const body: Array<ReadonlyArray<string>> = []
  for (const [id, row] of Object.entries(TABLE) as ReadonlyArray<[RowId, (typeof TABLE)[RowId]]>) {
    if (!sections.includes(row.section)) continue
    const mine = verdicts.filter((v) => v.id === id)
    if (mine.length === 0) {
      failures++
      const why = failedSections.get(row.section)
      body.push([row.measure, "-", "-", "-", "-", targetText(row.target, row.unit), why === undefined ? "NOT MEASURED" : "ERROR"])
      continue
    }
    for (const v of mine) {
      const ratio = v.value / v.floor
      const ok = passes(row.target, v.value, ratio)
      if (ok !== true) failures++
      body.push([
        v.qualifier.length > 0 ? `${row.measure} (${v.qualifier})` : row.measure,
        Number.isFinite(v.value) ? `${fmt(v.value, row.digits)} ${row.unit}` : "-",
        Number.isFinite(v.floor) ? `${fmt(v.floor, row.digits)} ${row.unit}` : "-",
        v.floorLabel,
        Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : "-",
        targetText(row.target, row.unit),
        ok === undefined ? "FAIL (no figure)" : ok ? "PASS" : "FAIL"
      ])
    }
  }
  if (body.length === 0) return 0
  console.log("")
  console.log("SUMMARY — issue 7's table: ours, the floor measured in this run, ours ÷ floor, target (×floor unless a unit is given)")
  console.log("")
  printRows(["measure", "ours", "floor", "floor is", "×floor", "target", "verdict"], body)
  console.log("")
  console.log(`${body.length - failures} of ${body.length} rows PASS`)
  return failures
}

export const printHeader = (sections: ReadonlyArray<Section>, modes: ReadonlyArray<string>, soakMinutes: number | undefined): void => {
  const cpus = os.cpus()
  console.log(
    `agentos-comms bench — Node ${process.version}, ${cpus.length} CPUs (${cpus[0]?.model.trim() ?? "?"}), ${os.platform()} ${os.arch()}; ` +
      `sections: ${sections.length > 0 ? sections.join(",") : "none"}; modes: ${modes.join(",")}` +
      (soakMinutes === undefined ? "" : `; soak ${soakMinutes} min`)
  )
  console.log(
    "×floor = ours / floor measured in this run; srv CPU = user+sys CPU of the server child during the measure " +
      "(its own process.cpuUsage(), asked over IPC) per op; cli CPU = the same for this (client) process"
  )
}

/** Prints everything gathered; returns the number of summary rows that did not pass. */
export const printReport = (sections: ReadonlyArray<Section>): number => {
  for (const [title, rows] of details) printDetails(title, rows)
  for (const t of texts) {
    console.log("")
    console.log(t)
  }
  if (notes.length > 0) {
    console.log("")
    for (const n of notes) console.log(n)
  }
  return printSummary(sections)
}
