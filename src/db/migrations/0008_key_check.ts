import { runStatements } from "./runStatements.ts"

/**
 * One row: a check value derived from CREDENTIALS_ENCRYPTION_KEY (an HMAC of
 * a constant, which reveals nothing about the key), so that a start with a
 * different key stops at once instead of failing every decryption later.
 */
export default runStatements([
  `CREATE TABLE IF NOT EXISTS encryption_key_check (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    check_value TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
  )`
])
