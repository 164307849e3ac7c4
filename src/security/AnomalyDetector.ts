import * as SqlClient from "@effect/sql/SqlClient"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { createHash } from "node:crypto"
import type { AgentId } from "../../schema/Ids.ts"
import { AppConfig } from "../config/AppConfig.ts"
import { AlertManager } from "../observability/AlertManager.ts"
import { AuditLog } from "../observability/AuditLog.ts"
import { recordSecurityEvent } from "../observability/Metrics.ts"

/** What the send path, the content filter, the authenticator and the webhook routes report about an agent. */
export type AnomalyEvent =
  | { readonly _tag: "send"; readonly recipient: string }
  | { readonly _tag: "content_filter_hit" }
  | { readonly _tag: "auth_failure" }
  | { readonly _tag: "forged_webhook" }

const MIN = 60_000
const WINDOW_SHORT = 5 * MIN
const WINDOW_LONG = 60 * MIN
const MAX_KNOWN_RECIPIENTS = 5_000

/** Per-agent baseline and recent events (timestamps), all in memory. */
export interface AgentBaseline {
  /** Smoothed sends per hour (EWMA over past hours). */
  hourlyBaseline: number
  hourStart: number
  sendsThisHour: number
  sends: Array<number>
  newRecipients: Array<number>
  known: Set<string>
  filterHits: Array<number>
  authFailures: Array<number>
  forged: Array<number>
}

export interface ScoreParts {
  readonly volume: number
  readonly newRecipients: number
  readonly contentFilter: number
  readonly authFailures: number
  readonly forgedWebhooks: number
}

export const emptyBaseline = (now: number): AgentBaseline => ({
  hourlyBaseline: 0,
  hourStart: now,
  sendsThisHour: 0,
  sends: [],
  newRecipients: [],
  known: new Set(),
  filterHits: [],
  authFailures: [],
  forged: []
})

const since = (list: Array<number>, from: number) => {
  while (list.length > 0 && list[0]! < from) list.shift()
  return list.length
}

/**
 * Adds one event to a baseline (pure apart from mutating `b`) and returns the
 * score parts; the score is their sum. Each part is 1 at its threshold:
 * volume at 10× the agent's normal 5-minute volume (at least 30 sends),
 * new recipients at `newRecipientsPer5Min`, content-filter hits at 5 an hour,
 * auth failures at 20 an hour, forged webhooks at 10 an hour.
 */
export const observe = (
  b: AgentBaseline,
  event: AnomalyEvent,
  now: number,
  newRecipientsPer5Min: number
): ScoreParts => {
  while (now - b.hourStart >= WINDOW_LONG) {
    b.hourlyBaseline = b.hourlyBaseline === 0 ? b.sendsThisHour : 0.8 * b.hourlyBaseline + 0.2 * b.sendsThisHour
    b.sendsThisHour = 0
    b.hourStart += WINDOW_LONG
  }
  switch (event._tag) {
    case "send": {
      b.sends.push(now)
      b.sendsThisHour++
      const key = createHash("sha256").update(event.recipient).digest("base64url").slice(0, 16)
      if (!b.known.has(key)) {
        if (b.known.size >= MAX_KNOWN_RECIPIENTS) b.known.clear()
        b.known.add(key)
        b.newRecipients.push(now)
      }
      break
    }
    case "content_filter_hit":
      b.filterHits.push(now)
      break
    case "auth_failure":
      b.authFailures.push(now)
      break
    case "forged_webhook":
      b.forged.push(now)
      break
  }
  const sends5 = since(b.sends, now - WINDOW_SHORT)
  return {
    volume: sends5 / Math.max(30, (10 * b.hourlyBaseline) / 12),
    newRecipients: since(b.newRecipients, now - WINDOW_SHORT) / newRecipientsPer5Min,
    contentFilter: since(b.filterHits, now - WINDOW_LONG) / 5,
    authFailures: since(b.authFailures, now - WINDOW_LONG) / 20,
    forgedWebhooks: since(b.forged, now - WINDOW_LONG) / 10
  }
}

export const scoreOf = (p: ScoreParts): number =>
  p.volume + p.newRecipients + p.contentFilter + p.authFailures + p.forgedWebhooks

const SuspensionRow = Schema.Struct({ agentId: Schema.String })

/**
 * The anomaly detector (spec: Security › anomaly detection): per-agent
 * baselines → a score → above ANOMALY_SUSPEND_SCORE the agent is suspended
 * (persisted): its tokens get `agent_suspended`, so nothing more is sent;
 * the audit log and a CRITICAL admin alert say why. An admin lifts it with
 * POST /admin/agents/:agentId/unsuspend.
 */
export class AnomalyDetector extends Effect.Service<AnomalyDetector>()("app/security/AnomalyDetector", {
  effect: Effect.gen(function*() {
    const config = yield* AppConfig
    const sql = yield* SqlClient.SqlClient
    const audit = yield* AuditLog
    const alerts = yield* AlertManager
    const baselines = new Map<string, AgentBaseline>()
    const suspended = new Set<string>(
      yield* sql`SELECT agent_id FROM agent_suspensions`.pipe(
        Effect.flatMap(Schema.decodeUnknown(Schema.Array(SuspensionRow))),
        Effect.map((rows) => rows.map((r) => r.agentId)),
        Effect.orDie
      )
    )

    const suspend = (agentId: AgentId, parts: ScoreParts, score: number) =>
      Effect.gen(function*() {
        if (suspended.has(agentId)) return
        suspended.add(agentId)
        const top = (Object.entries(parts) as Array<[string, number]>).sort((a, b) => b[1] - a[1])[0]
        const reason = `anomaly score ${score.toFixed(2)} (mostly ${top?.[0] ?? "unknown"})`
        yield* sql`INSERT INTO agent_suspensions (agent_id, reason, score) VALUES (${agentId}, ${reason}, ${score})
          ON CONFLICT (agent_id) DO NOTHING`.pipe(Effect.orDie)
        yield* recordSecurityEvent("agent_suspended")
        yield* audit.append({
          eventType: "agent_suspended",
          actor: "system",
          target: agentId,
          details: { reason, score, ...parts }
        })
        yield* alerts.raise({
          severity: "critical",
          key: `anomaly-suspend:${agentId}`,
          title: `Agent ${agentId} auto-suspended`,
          detail: `${reason}. Unsuspend with POST /admin/agents/${agentId}/unsuspend`
        })
      })

    return {
      /** Feeds one event; suspends the agent when its score crosses the threshold. */
      record: Effect.fn("AnomalyDetector.record")(function*(agentId: AgentId, event: AnomalyEvent) {
        const now = yield* Clock.currentTimeMillis
        let b = baselines.get(agentId)
        if (b === undefined) {
          b = emptyBaseline(now)
          baselines.set(agentId, b)
        }
        const parts = observe(b, event, now, config.anomalyNewRecipientsPer5Min)
        const score = scoreOf(parts)
        if (score >= config.anomalySuspendScore) yield* suspend(agentId, parts, score)
        else if (score >= config.anomalySuspendScore / 2) yield* recordSecurityEvent("anomaly")
      }),
      isSuspended: (agentId: AgentId): boolean => suspended.has(agentId),
      /** Lifts a suspension; false when the agent was not suspended. */
      unsuspend: Effect.fn("AnomalyDetector.unsuspend")(function*(agentId: AgentId, by: string) {
        const was = suspended.delete(agentId)
        baselines.delete(agentId)
        yield* sql`DELETE FROM agent_suspensions WHERE agent_id = ${agentId}`.pipe(Effect.orDie)
        if (was) yield* audit.append({ eventType: "agent_unsuspended", actor: by, target: agentId, details: {} })
        return was
      })
    } as const
  })
}) {}
