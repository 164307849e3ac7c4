import { runStatements } from "./runStatements.ts"

/**
 * Hardening (issue 11).
 *
 * `encryption_key_check`: one row, a check value derived from CREDENTIALS_ENCRYPTION_KEY (an HMAC of
 * a constant, which reveals nothing about the key), so that a start with a
 * different key stops at once instead of failing every decryption later.
 */
export default runStatements([
  `CREATE TABLE IF NOT EXISTS encryption_key_check (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    check_value TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
  )`,
  // agents suspended by the anomaly detector, until an admin unsuspends them
  `CREATE TABLE IF NOT EXISTS agent_suspensions (
    agent_id TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    score DOUBLE PRECISION NOT NULL,
    suspended_at TIMESTAMPTZ NOT NULL DEFAULT now()
  )`
])
