/**
 * Regulatory checks on outbound actions (spec "Regulatory and Legal Compliance"; reference
 * protocols §10), and the data behind them:
 *
 * - **Opt-outs** (`opt_outs`, keyed by agent + contact): the agent's own do-not-contact list, fed by
 *   STOP-type keywords on inbound messages (and any other revocation the app records). Applies to
 *   every channel, email included, and to agent-to-agent traffic.
 * - **DNC** (`dnc_numbers`): numbers imported from the national registry (FTC area-code files or a
 *   plain list) or added internally. Applies to phone channels (SMS, WhatsApp, calls), not email.
 * - **Quiet hours** (TCPA): phone channels only between 08:00 and 21:00 at the recipient's
 *   location, taken from the number (`locateNumber`): allowed only if it is within those hours in
 *   EVERY zone the area code (or, failing that, the country) spans. Numbers without a location
 *   (non-geographic, e.g. +800) are not subject to it. Email is exempt.
 *
 * Refusal messages never contain the recipient's address (no PII in errors or logs).
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { AppConfig } from "../config/AppConfig.ts"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { DncListed, OptedOut, QuietHours } from "../../schema/Errors.ts"
import type { AgentId } from "../../schema/Ids.ts"
import type { NumberLocation } from "./areaCodeTimeZones.ts"

// ── Quiet hours (pure) ──────────────────────────────────────────────────────────────────────

/** 08:00 local, in minutes after midnight: the first allowed minute. */
export const ALLOWED_FROM_MINUTE = 8 * 60
/** 21:00 local: the first forbidden minute (20:59 is the last allowed one). */
export const ALLOWED_UNTIL_MINUTE = 21 * 60

const formatters = new Map<string, Intl.DateTimeFormat>()
const formatterFor = (zone: string): Intl.DateTimeFormat => {
  let f = formatters.get(zone)
  if (f === undefined) {
    f = new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", hour: "2-digit", minute: "2-digit" })
    formatters.set(zone, f)
  }
  return f
}

/** Local wall-clock time in `zone` at `ms`, as minutes after midnight (0–1439). */
export const localMinutes = (zone: string, ms: number): number => {
  const text = formatterFor(zone).format(ms) // "HH:MM"
  const hours = Number(text.slice(0, 2)) % 24
  return hours * 60 + Number(text.slice(3, 5))
}

const isDaytime = (minutes: number) => minutes >= ALLOWED_FROM_MINUTE && minutes < ALLOWED_UNTIL_MINUTE

/** Within 08:00–21:00 in every one of `zones` at `ms` (true when there are none). */
export const allowedInAll = (zones: ReadonlyArray<string>, ms: number): boolean =>
  zones.every((zone) => isDaytime(localMinutes(zone, ms)))

/**
 * The first instant after `now` when it is daytime in every zone, or undefined when the zones never
 * share daytime (a "country" spanning more than 13 hours). Daytime in all zones can only begin when
 * some zone reaches 08:00, so those instants (the next three per zone, corrected for DST) are the
 * only candidates.
 */
export const nextAllowed = (zones: ReadonlyArray<string>, now: number): number | undefined => {
  const minuteStart = now - (now % 60_000)
  const candidates: Array<number> = []
  for (const zone of zones) {
    const delta = (ALLOWED_FROM_MINUTE - localMinutes(zone, now) + 1440) % 1440
    for (let k = 0; k < 3; k++) {
      const guess = minuteStart + (delta + 1440 * k) * 60_000
      // a DST change in between shifts the local clock: move the guess onto 08:00 local
      const drift = ((localMinutes(zone, guess) - ALLOWED_FROM_MINUTE + 1440 + 720) % 1440) - 720
      const t = guess - drift * 60_000
      if (t > now) candidates.push(t)
    }
  }
  candidates.sort((a, b) => a - b)
  return candidates.find((t) => allowedInAll(zones, t))
}

export type QuietHoursCheck =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly retryAfterMs: number; readonly zones: ReadonlyArray<string> }

/** Quiet-hours verdict for a located number at `now`. */
export const checkQuietHours = (location: NumberLocation, now: number): QuietHoursCheck => {
  if (location.zones.length === 0 || allowedInAll(location.zones, now)) return { allowed: true }
  const next = nextAllowed(location.zones, now)
  return { allowed: false, retryAfterMs: next === undefined ? 86_400_000 : next - now, zones: location.zones }
}

// ── Keywords (pure) ─────────────────────────────────────────────────────────────────────────

export type KeywordAction = "opt_out" | "opt_in" | "help"

/** Carrier standard opt-out keywords (REVOKE and OPTOUT since 2025-05). */
export const OPT_OUT_KEYWORDS: ReadonlyArray<string> = [
  "STOP",
  "STOPALL",
  "UNSUBSCRIBE",
  "CANCEL",
  "END",
  "QUIT",
  "REVOKE",
  "OPTOUT"
]
export const OPT_IN_KEYWORDS: ReadonlyArray<string> = ["START", "UNSTOP", "YES"]
export const HELP_KEYWORDS: ReadonlyArray<string> = ["HELP", "INFO"]

/**
 * The keyword a whole inbound message is, if any: trimmed, case-insensitive, tolerating trailing
 * `.` / `!` ("Stop." counts; "please stop texting me" does not — a person's free-text revocation
 * must still be honoured by whoever reads it, within 10 business days).
 */
export const parseKeyword = (body: string): { readonly action: KeywordAction; readonly keyword: string } | undefined => {
  const word = body.trim().replace(/[.!]+$/, "").toUpperCase()
  if (OPT_OUT_KEYWORDS.includes(word)) return { action: "opt_out", keyword: word }
  if (OPT_IN_KEYWORDS.includes(word)) return { action: "opt_in", keyword: word }
  if (HELP_KEYWORDS.includes(word)) return { action: "help", keyword: word }
  return undefined
}

/** Standard confirmation texts (the carriers' defaults for long codes). */
export const REPLIES = {
  opt_out:
    "You have successfully been unsubscribed. You will not receive any more messages from this number. Reply START to resubscribe.",
  opt_in:
    "You have successfully been re-subscribed to messages from this number. Reply HELP for help. Reply STOP to unsubscribe. Msg&Data Rates May Apply.",
  help: "Reply STOP to unsubscribe, START to resubscribe. Msg&Data Rates May Apply."
} as const

/** Opt-out lists are keyed by the bare address: E.164 as is (a `whatsapp:` prefix dropped), emails lower-cased. */
export const normalizeContact = (contact: string): string => {
  const c = contact.trim().replace(/^whatsapp:/i, "")
  return c.includes("@") ? c.toLowerCase() : c
}

// ── DNC files (pure) ────────────────────────────────────────────────────────────────────────

export interface ParsedDnc {
  /** Distinct E.164 numbers. */
  readonly numbers: ReadonlyArray<string>
  /** 1-based line numbers that are neither blank, a comment, nor a number. */
  readonly invalidLines: ReadonlyArray<number>
}

const NANP10 = /^[2-9]\d{2}[2-9]\d{6}$/
const E164 = /^\+[1-9]\d{7,14}$/

/**
 * Parses a DNC list: one number per line, as E.164 (`+12125550142`), as 10 NANP digits
 * (`2125550142`, the FTC registry's per-area-code files; punctuation such as `(212) 555-0142` is
 * ignored), as 11 digits with the leading 1, or as the FTC flat format `areacode,number`. Further
 * comma-separated columns are ignored; blank lines and `#` comments are skipped.
 */
export const parseDncText = (text: string): ParsedDnc => {
  const numbers = new Set<string>()
  const invalidLines: Array<number> = []
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? "").trim()
    if (line === "" || line.startsWith("#")) continue
    const fields = line.split(",").map((f) => f.trim())
    const [first = "", second = ""] = fields
    let number: string | undefined
    if (/^\d{3}$/.test(first) && /^\d{7}$/.test(second)) {
      const ten = first + second
      if (NANP10.test(ten)) number = `+1${ten}`
    } else if (E164.test(first)) {
      number = first
    } else {
      const digits = first.replace(/[\s().-]/g, "")
      if (NANP10.test(digits)) number = `+1${digits}`
      else if (digits.length === 11 && digits.startsWith("1") && NANP10.test(digits.slice(1))) number = `+${digits}`
    }
    if (number === undefined) invalidLines.push(i + 1)
    else numbers.add(number)
  }
  return { numbers: [...numbers], invalidLines }
}

// ── The service ─────────────────────────────────────────────────────────────────────────────

export interface DncImportResult {
  /** Numbers newly listed. */
  readonly imported: number
  /** Numbers that were already listed. */
  readonly alreadyListed: number
  /** Lines that could not be read as a number. */
  readonly invalid: number
  /** The first (up to 20) invalid line numbers, for the operator. */
  readonly invalidLines: ReadonlyArray<number>
}

/** What compliance needs to know about an outbound action. */
export interface ScreenRequest {
  readonly agentId: AgentId
  readonly channel: "sms" | "whatsapp" | "email" | "voice"
  readonly to: string
  /** The recipient is one of our agents: exempt from DNC and quiet hours (never from opt-outs). */
  readonly internal: boolean
  /** Where the number rings (phone channels). */
  readonly location: NumberLocation
}

const Flags = Schema.Struct({ optedOut: Schema.Boolean, dnc: Schema.Boolean })
export type Flags = typeof Flags.Type
const BATCH = 1000

export class Compliance extends Effect.Service<Compliance>()("app/policy/Compliance", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const config = yield* AppConfig
    const helpText = Option.getOrElse(config.smsHelpText, () => REPLIES.help)
    const decodeFlags = Schema.decodeUnknown(Schema.Array(Flags))

    /** Adds the numbers of a DNC file (see `parseDncText`) under `source` (e.g. "ftc-2026-11", "internal"). */
    const importDnc = (text: string, source: string) =>
      Effect.gen(function*() {
        const parsed = parseDncText(text)
        const now = new Date(yield* Clock.currentTimeMillis)
        let imported = 0
        for (let i = 0; i < parsed.numbers.length; i += BATCH) {
          const rows = parsed.numbers.slice(i, i + BATCH).map((number) => ({ number, source, addedAt: now }))
          const inserted = yield* sql`INSERT INTO dnc_numbers ${sql.insert(rows)}
            ON CONFLICT (number) DO NOTHING RETURNING number`
          imported += inserted.length
        }
        return {
          imported,
          alreadyListed: parsed.numbers.length - imported,
          invalid: parsed.invalidLines.length,
          invalidLines: parsed.invalidLines.slice(0, 20)
        } satisfies DncImportResult
      }).pipe(sql.withTransaction, Effect.orDie, Effect.withSpan("Compliance.importDnc"))

    /** Removes the numbers of a list (e.g. an FTC change list's deletions); returns how many were listed. */
    const removeDnc = (text: string) =>
      Effect.gen(function*() {
        const { numbers } = parseDncText(text)
        let removed = 0
        for (let i = 0; i < numbers.length; i += BATCH) {
          const rows = yield* sql`DELETE FROM dnc_numbers WHERE number IN ${sql.in(numbers.slice(i, i + BATCH))}
            RETURNING number`
          removed += rows.length
        }
        return removed
      }).pipe(sql.withTransaction, Effect.orDie, Effect.withSpan("Compliance.removeDnc"))

    const isDnc = (number: string) =>
      sql`SELECT 1 AS one FROM dnc_numbers WHERE number = ${number}`.pipe(
        Effect.map((rows) => rows.length > 0),
        Effect.orDie
      )

    /** Records that `contact` revoked consent for `agentId` (idempotent; the latest event wins). */
    const optOut = (agentId: AgentId, contact: string, channel: string, keyword: string) =>
      Effect.gen(function*() {
        const now = new Date(yield* Clock.currentTimeMillis)
        yield* sql`INSERT INTO opt_outs ${
          sql.insert({ agentId, contact: normalizeContact(contact), channel, keyword, optedOutAt: now, optedInAt: null })
        } ON CONFLICT (agent_id, contact) DO UPDATE SET
            channel = EXCLUDED.channel, keyword = EXCLUDED.keyword,
            opted_out_at = EXCLUDED.opted_out_at, opted_in_at = NULL`
      }).pipe(Effect.orDie, Effect.withSpan("Compliance.optOut"))

    /** Lifts an opt-out; true when there was one. */
    const optIn = (agentId: AgentId, contact: string) =>
      Effect.gen(function*() {
        const now = new Date(yield* Clock.currentTimeMillis)
        const rows = yield* sql`UPDATE opt_outs SET opted_in_at = ${now}
          WHERE agent_id = ${agentId} AND contact = ${normalizeContact(contact)} AND opted_in_at IS NULL
          RETURNING contact`
        return rows.length > 0
      }).pipe(Effect.orDie, Effect.withSpan("Compliance.optIn"))

    const isOptedOut = (agentId: AgentId, contact: string) =>
      sql`SELECT 1 AS one FROM opt_outs
          WHERE agent_id = ${agentId} AND contact = ${normalizeContact(contact)} AND opted_in_at IS NULL`.pipe(
        Effect.map((rows) => rows.length > 0),
        Effect.orDie
      )

    /**
     * One row `{ optedOut, dnc }` for the recipient: a statement the guard can also embed (it
     * reserves in the same round trip). DNC is not looked up for email or internal recipients.
     */
    const listFlags = (req: ScreenRequest) => {
      const contact = normalizeContact(req.to)
      const dnc = req.channel !== "email" && !req.internal
        ? sql`EXISTS (SELECT 1 FROM dnc_numbers WHERE number = ${contact})`
        : sql`false`
      return sql`SELECT
          EXISTS (SELECT 1 FROM opt_outs WHERE agent_id = ${req.agentId} AND contact = ${contact}
                  AND opted_in_at IS NULL) AS opted_out,
          ${dnc} AS dnc`
    }

    /** The list refusal for a flags row (opt-out first), if any. */
    const listsVerdict = (flags: { readonly optedOut: boolean; readonly dnc: boolean } | undefined) =>
      flags?.optedOut === true
        ? new OptedOut({ message: "the recipient opted out of messages from this agent (STOP)" })
        : flags?.dnc === true
        ? new DncListed({ message: "the recipient is on a do-not-call list" })
        : undefined

    /** Quiet-hours refusal (pure): phone channels to non-internal recipients only. */
    const quietVerdict = (req: ScreenRequest, now: number): QuietHours | undefined => {
      if (req.channel === "email" || req.internal || config.quietHours === "off") return undefined
      const verdict = checkQuietHours(req.location, now)
      if (verdict.allowed) return undefined
      const retryAfterSeconds = Math.ceil(verdict.retryAfterMs / 1000)
      return new QuietHours({
        message: `outside 08:00-21:00 at the recipient's location (${verdict.zones.join(", ")}); ` +
          `retry in ${retryAfterSeconds} s`,
        retryAfterSeconds
      })
    }

    /** Opt-out → DNC (one query). */
    const screenLists = (req: ScreenRequest): Effect.Effect<void, OptedOut | DncListed> =>
      listFlags(req).pipe(
        Effect.flatMap(decodeFlags),
        Effect.orDie,
        Effect.flatMap((rows) => {
          const refusal = listsVerdict(rows[0])
          return refusal === undefined ? Effect.void : Effect.fail(refusal)
        })
      )

    /** Opt-out → DNC → quiet hours, in that order (DNC and quiet hours skipped for email and internal recipients). */
    const screen = (req: ScreenRequest, now: number): Effect.Effect<void, OptedOut | DncListed | QuietHours> =>
      Effect.zipRight(
        screenLists(req),
        Effect.suspend(() => {
          const quiet = quietVerdict(req, now)
          return quiet === undefined ? Effect.void : Effect.fail(quiet)
        })
      )

    /**
     * Inbound keyword handling (STOP/START/HELP and synonyms, whole message): records the opt-out or
     * opt-in and returns the confirmation to send back. "YES" only counts when the contact had opted
     * out (otherwise it is an ordinary answer and None is returned).
     */
    const handleInboundKeyword = (agentId: AgentId, contact: string, channel: string, body: string) =>
      Effect.gen(function*() {
        const parsed = parseKeyword(body)
        if (parsed === undefined) return Option.none()
        switch (parsed.action) {
          case "opt_out":
            yield* optOut(agentId, contact, channel, parsed.keyword)
            yield* Effect.logInfo("inbound opt-out recorded").pipe(Effect.annotateLogs({ agentId, channel }))
            return Option.some({ reply: REPLIES.opt_out, action: "opt_out" as const })
          case "opt_in": {
            const lifted = yield* optIn(agentId, contact)
            if (!lifted && parsed.keyword === "YES") return Option.none()
            yield* Effect.logInfo("inbound opt-in recorded").pipe(Effect.annotateLogs({ agentId, channel }))
            return Option.some({ reply: REPLIES.opt_in, action: "opt_in" as const })
          }
          case "help": {
            const rows = yield* sql`SELECT display_name FROM agent_channels WHERE agent_id = ${agentId}`.pipe(
              Effect.orDie
            )
            const name = rows[0]?.["displayName"]
            const reply = typeof name === "string" && name !== "" ? `${name}: ${helpText}` : helpText
            return Option.some({ reply, action: "help" as const })
          }
        }
      }).pipe(Effect.withSpan("Compliance.handleInboundKeyword", { attributes: { agentId, channel } }))

    return {
      importDnc,
      removeDnc,
      isDnc,
      optOut,
      optIn,
      isOptedOut,
      listFlags,
      decodeFlags,
      listsVerdict,
      quietVerdict,
      screenLists,
      screen,
      handleInboundKeyword
    } as const
  })
}) {}
