/**
 * Guardrails: the guard's action ledger (reservations + exact sliding rate windows), opt-outs, the
 * do-not-call list, per-day limit-hit counters, and nullable `spending_limits` columns
 * (NULL = follow the server default).
 */
import { runStatements } from "./runStatements.ts"

export const statements: ReadonlyArray<string> = [
  // One row per admitted outbound action: its spend reservation and its slot in the rate windows.
  // Sliding windows need the time of each action, which the spec's fixed-window `rate_limits`
  // counters cannot give (they allow 2× the limit across a window edge); `rate_limits` is unused.
  // status: reserved (admitted, not settled) → settled | failed (slot and spend released) |
  // expired (found reserved on load after the TTL: spend released, slot kept).
  // contact is only kept for calls (anti-harassment cap); messages store no recipient here.
  `CREATE TABLE action_events (
    id UUID PRIMARY KEY,
    agent_id TEXT NOT NULL REFERENCES agent_channels(agent_id),
    at TIMESTAMPTZ NOT NULL,
    kind TEXT NOT NULL,
    channel TEXT NOT NULL,
    contact TEXT,
    reserved_cost NUMERIC(12,6) NOT NULL,
    actual_cost NUMERIC(12,6),
    status TEXT NOT NULL DEFAULT 'reserved' CHECK (status IN ('reserved', 'settled', 'failed', 'expired')),
    settled_at TIMESTAMPTZ
  )`,
  `CREATE INDEX idx_action_events_agent_at ON action_events (agent_id, at)`,
  `CREATE INDEX idx_action_events_reserved ON action_events (agent_id) WHERE status = 'reserved'`,

  // The agent's own do-not-contact list: a contact (E.164 or lower-cased email) that revoked
  // consent (STOP & co.). opted_in_at set = consent given again (START); the row keeps the last event.
  `CREATE TABLE opt_outs (
    agent_id TEXT NOT NULL REFERENCES agent_channels(agent_id),
    contact TEXT NOT NULL,
    channel TEXT NOT NULL,
    keyword TEXT,
    opted_out_at TIMESTAMPTZ NOT NULL,
    opted_in_at TIMESTAMPTZ,
    PRIMARY KEY (agent_id, contact)
  )`,

  // Numbers nobody may call or text: the national registry (imported per area code) and internal entries.
  `CREATE TABLE dnc_numbers (
    number TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    added_at TIMESTAMPTZ NOT NULL DEFAULT now()
  )`,

  // Refusals per agent, UTC day and limit (per_minute, per_hour, per_day, spend_per_day,
  // spend_per_month, contact_per_day); last_audited_at throttles the audit trail.
  `CREATE TABLE limit_hits (
    agent_id TEXT NOT NULL REFERENCES agent_channels(agent_id),
    hit_date DATE NOT NULL,
    limit_name TEXT NOT NULL,
    hits INTEGER NOT NULL DEFAULT 0,
    last_audited_at TIMESTAMPTZ,
    PRIMARY KEY (agent_id, hit_date, limit_name)
  )`,

  // All-agents dashboards filter usage by time only.
  `CREATE INDEX idx_usage_logs_created ON usage_logs (created_at)`,

  // NULL = the server default (DEFAULT_MAX_* variables), so agents without their own limit follow it.
  ...[
    "max_per_minute",
    "max_per_hour",
    "max_per_day",
    "max_spend_per_day",
    "max_spend_per_month",
    "max_call_duration_minutes",
    "max_calls_per_day_same_number"
  ].map((column) => `ALTER TABLE spending_limits ALTER COLUMN ${column} DROP NOT NULL, ALTER COLUMN ${column} DROP DEFAULT`)
]

/** Tables created by this migration. */
export const tables: ReadonlyArray<string> = ["action_events", "opt_outs", "dnc_numbers", "limit_hits"]

export default runStatements(statements)
