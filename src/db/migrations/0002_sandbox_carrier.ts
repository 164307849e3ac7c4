/**
 * The sandbox carrier's own store: the fictional numbers, addresses, voice
 * apps and WhatsApp senders it has handed out, and to which agent. A real
 * provider keeps this on its side; the sandbox keeps it here so agents keep
 * their numbers across restarts and agent-to-agent traffic can be routed.
 */
import { runStatements } from "./runStatements.ts"

export const statements: ReadonlyArray<string> = [
  `CREATE TABLE sandbox_addresses (
    address TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    agent_id TEXT,
    provider_ref TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
  )`,
  `CREATE INDEX idx_sandbox_addresses_agent ON sandbox_addresses (agent_id, kind)`
]

export default runStatements(statements)
