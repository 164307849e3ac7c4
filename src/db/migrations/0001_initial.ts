/**
 * Initial schema: every table of the product spec ("Database Schema" and the `audit_log` of
 * "Admin Observability"), with the project's amendments. Runs unchanged on PGlite and PostgreSQL 13+
 * (`gen_random_uuid()` is built in from PostgreSQL 13 and in PGlite).
 *
 * Conventions: snake_case columns (the app maps them with `String.camelToSnake` / `snakeToCamel`);
 * every timestamp is `TIMESTAMPTZ`; columns with a meaningful default are `NOT NULL` so row Schemas
 * need not accept `null` for them.
 */
import { runStatements } from "./runStatements.ts"

/** One statement per entry: both drivers run them the same way (no reliance on multi-statement strings). */
export const statements: ReadonlyArray<string> = [
  // ── Agents ────────────────────────────────────────────────────────────────────────────────
  // Rows are kept on deprovision (status 'deprovisioned', deprovisioned_at set) so the foreign
  // keys of history stay valid; provisioning the same agent_id again reactivates the row.
  `CREATE TABLE agent_channels (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    agent_id TEXT UNIQUE NOT NULL,
    display_name TEXT,
    phone_number TEXT,
    whatsapp_sender_sid TEXT,
    whatsapp_number TEXT,
    whatsapp_status TEXT DEFAULT 'pending',
    email_address TEXT,
    voice_app_sid TEXT,
    voice_id TEXT,
    system_prompt TEXT,
    greeting TEXT,
    provider_overrides JSONB,
    route_duplication JSONB,
    country TEXT,
    capabilities JSONB NOT NULL DEFAULT '{}'::jsonb,
    privacy JSONB,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deprovisioned')),
    provisioned_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    deprovisioned_at TIMESTAMPTZ
  )`,
  // Inbound routing looks agents up by their addresses.
  `CREATE INDEX idx_agent_channels_phone ON agent_channels (phone_number)`,
  `CREATE INDEX idx_agent_channels_email ON agent_channels (email_address)`,
  `CREATE INDEX idx_agent_channels_whatsapp ON agent_channels (whatsapp_number)`,

  // Single row (id = 1), seeded by the app from INITIAL_AGENT_POOL_SIZE with
  // INSERT … ON CONFLICT DO NOTHING; the CHECKs make over-allocation impossible.
  `CREATE TABLE agent_pool (
    id INTEGER PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    max_agents INTEGER NOT NULL,
    active_agents INTEGER NOT NULL DEFAULT 0 CHECK (active_agents >= 0 AND active_agents <= max_agents),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
  )`,

  // token_hash = hex SHA-256 of a 256-bit random token (a fast hash is right for such tokens).
  `CREATE TABLE agent_tokens (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    agent_id TEXT NOT NULL REFERENCES agent_channels(agent_id),
    token_hash TEXT NOT NULL UNIQUE,
    scope TEXT NOT NULL DEFAULT 'agent',
    issued_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ,
    created_by TEXT
  )`,
  `CREATE INDEX idx_agent_tokens_agent ON agent_tokens (agent_id)`,

  // ── Pools ─────────────────────────────────────────────────────────────────────────────────
  `CREATE TABLE whatsapp_pool (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    phone_number TEXT UNIQUE NOT NULL,
    sender_sid TEXT,
    status TEXT NOT NULL DEFAULT 'available',
    assigned_to_agent TEXT REFERENCES agent_channels(agent_id),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
  )`,
  `CREATE INDEX idx_whatsapp_pool_status ON whatsapp_pool (status)`,

  // ── Traffic ───────────────────────────────────────────────────────────────────────────────
  // body is NULL unless the agent owner opted in to body storage (privacy-first).
  `CREATE TABLE messages (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    agent_id TEXT NOT NULL REFERENCES agent_channels(agent_id),
    channel TEXT NOT NULL,
    direction TEXT NOT NULL,
    from_address TEXT NOT NULL,
    to_address TEXT NOT NULL,
    contact TEXT,
    subject TEXT,
    body TEXT,
    media_url TEXT,
    media_type TEXT,
    provider TEXT,
    external_id TEXT,
    status TEXT NOT NULL DEFAULT 'sent',
    cost NUMERIC(10,6),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
  )`,
  `CREATE INDEX idx_messages_agent_date ON messages (agent_id, created_at)`,
  `CREATE INDEX idx_messages_agent_contact ON messages (agent_id, contact, created_at)`,
  // Provider message ids are unique per agent and direction: dedupes inbound webhook retries.
  `CREATE UNIQUE INDEX idx_messages_external_id ON messages (agent_id, direction, external_id)
    WHERE external_id IS NOT NULL`,

  `CREATE TABLE call_logs (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    agent_id TEXT NOT NULL REFERENCES agent_channels(agent_id),
    call_sid TEXT UNIQUE NOT NULL,
    direction TEXT NOT NULL,
    from_number TEXT NOT NULL,
    to_number TEXT NOT NULL,
    duration_seconds INTEGER,
    recording_url TEXT,
    transcript TEXT,
    status TEXT,
    cost NUMERIC(10,6),
    started_at TIMESTAMPTZ,
    ended_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
  )`,
  `CREATE INDEX idx_call_logs_agent_date ON call_logs (agent_id, created_at)`,

  // ── Usage, limits, compliance ─────────────────────────────────────────────────────────────
  `CREATE TABLE usage_logs (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    agent_id TEXT NOT NULL REFERENCES agent_channels(agent_id),
    action_type TEXT NOT NULL,
    channel TEXT NOT NULL,
    cost NUMERIC(10,6) NOT NULL,
    provider TEXT NOT NULL,
    external_id TEXT,
    metadata JSONB,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
  )`,
  `CREATE INDEX idx_usage_logs_agent_date ON usage_logs (agent_id, created_at)`,

  `CREATE TABLE rate_limits (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    agent_id TEXT NOT NULL REFERENCES agent_channels(agent_id),
    window_type TEXT NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    action_count INTEGER NOT NULL DEFAULT 0,
    max_actions INTEGER NOT NULL,
    UNIQUE (agent_id, window_type, window_start)
  )`,
  `CREATE INDEX idx_rate_limits_agent_window ON rate_limits (agent_id, window_type, window_start)`,

  `CREATE TABLE spending_limits (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    agent_id TEXT NOT NULL UNIQUE REFERENCES agent_channels(agent_id),
    max_per_minute INTEGER NOT NULL DEFAULT 10,
    max_per_hour INTEGER NOT NULL DEFAULT 100,
    max_per_day INTEGER NOT NULL DEFAULT 500,
    max_spend_per_day NUMERIC(10,2) NOT NULL DEFAULT 10.00,
    max_spend_per_month NUMERIC(10,2) NOT NULL DEFAULT 100.00,
    max_call_duration_minutes INTEGER NOT NULL DEFAULT 10,
    max_calls_per_day_same_number INTEGER NOT NULL DEFAULT 2,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
  )`,

  // credentials_encrypted = AES-256 encrypted credential blob.
  `CREATE TABLE provider_credentials (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    provider TEXT NOT NULL UNIQUE,
    credentials_encrypted TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'active',
    verified_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
  )`,

  // Anti-harassment: actions per agent, contact, channel and day.
  `CREATE TABLE contact_frequency (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    agent_id TEXT NOT NULL REFERENCES agent_channels(agent_id),
    contact_number TEXT NOT NULL,
    channel TEXT NOT NULL,
    action_date DATE NOT NULL,
    action_count INTEGER NOT NULL DEFAULT 1,
    UNIQUE (agent_id, contact_number, channel, action_date)
  )`,
  `CREATE INDEX idx_contact_freq_lookup ON contact_frequency (agent_id, contact_number, action_date)`,

  // ── Admin observability ───────────────────────────────────────────────────────────────────
  // Append-only hash chain: prev_hash = row_hash of the previous row. The trigger below rejects
  // UPDATE and DELETE (TRUNCATE stays possible for tests and explicit admin resets).
  `CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    timestamp TIMESTAMPTZ NOT NULL DEFAULT now(),
    event_type TEXT NOT NULL,
    actor TEXT NOT NULL,
    target TEXT,
    details JSONB,
    prev_hash TEXT NOT NULL,
    row_hash TEXT NOT NULL
  )`,
  `CREATE INDEX idx_audit_log_timestamp ON audit_log (timestamp)`,
  `CREATE INDEX idx_audit_log_event_type ON audit_log (event_type, timestamp)`,
  `CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
  END
  $$`,
  `CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()`,

  // ── Durable webhook callbacks (delivered later by an outbox worker) ───────────────────────
  `CREATE TABLE webhook_outbox (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    agent_id TEXT,
    webhook_id TEXT UNIQUE NOT NULL,
    payload JSONB NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    delivered_at TIMESTAMPTZ,
    last_error TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
  )`,
  `CREATE INDEX idx_webhook_outbox_pending ON webhook_outbox (delivered_at, next_attempt_at)`
]

/** Tables created by this migration (used by tests and readiness checks). */
export const tables: ReadonlyArray<string> = [
  "agent_channels",
  "agent_pool",
  "agent_tokens",
  "whatsapp_pool",
  "messages",
  "call_logs",
  "usage_logs",
  "rate_limits",
  "spending_limits",
  "provider_credentials",
  "contact_frequency",
  "audit_log",
  "webhook_outbox"
]

export default runStatements(statements)
