/**
 * The callback outbox keeps its lease apart from its retry time: `lease_owner`
 * (the deliverer process that holds the row) and `lease_until` (when the hold
 * ends) instead of pushing `next_attempt_at` 60 s ahead. Deliverers announce
 * themselves in `webhook_outbox_workers` (`alive_until`, refreshed while they
 * run), so a restarted process frees the leases of a dead one at once instead
 * of waiting out the lease.
 */
import { runStatements } from "./runStatements.ts"

export const statements: ReadonlyArray<string> = [
  `ALTER TABLE webhook_outbox ADD COLUMN lease_owner TEXT, ADD COLUMN lease_until TIMESTAMPTZ`,
  `CREATE TABLE webhook_outbox_workers (
    owner TEXT PRIMARY KEY,
    alive_until TIMESTAMPTZ NOT NULL
  )`,
  `CREATE INDEX idx_webhook_outbox_due ON webhook_outbox (next_attempt_at, created_at) WHERE delivered_at IS NULL`,
  `CREATE INDEX idx_webhook_outbox_leased ON webhook_outbox (lease_owner) WHERE lease_owner IS NOT NULL`
]

export default runStatements(statements)
