/**
 * Routing looks agents up by any of their addresses (`AgentsRepo.findByAddress`,
 * on every send to an address and every inbound message): emails compare
 * case-insensitively, so they need an expression index, or the OR of the three
 * lookups falls back to scanning the table.
 */
import { runStatements } from "./runStatements.ts"

export const statements: ReadonlyArray<string> = [
  `CREATE INDEX idx_agent_channels_email_lower ON agent_channels (lower(email_address))`
]

export default runStatements(statements)
