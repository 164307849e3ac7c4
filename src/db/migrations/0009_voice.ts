/**
 * Live voice: what a call log needs beyond 0001 (our call id, the peer agent
 * of an agent-to-agent call, billed minutes, a transfer target) and the
 * generated voice messages (the audio lives in storage, keyed by `audio_key`).
 */
import { runStatements } from "./runStatements.ts"

export const statements: ReadonlyArray<string> = [
  `ALTER TABLE call_logs ADD COLUMN IF NOT EXISTS call_id TEXT`,
  `ALTER TABLE call_logs ADD COLUMN IF NOT EXISTS peer_agent_id TEXT`,
  `ALTER TABLE call_logs ADD COLUMN IF NOT EXISTS minutes INTEGER`,
  `ALTER TABLE call_logs ADD COLUMN IF NOT EXISTS transferred_to TEXT`,
  `CREATE INDEX IF NOT EXISTS idx_call_logs_call_id ON call_logs (call_id)`,
  `CREATE TABLE IF NOT EXISTS voice_messages (
    id UUID PRIMARY KEY,
    agent_id TEXT NOT NULL REFERENCES agent_channels(agent_id),
    channel TEXT NOT NULL,
    to_number TEXT NOT NULL,
    audio_key TEXT NOT NULL,
    duration_seconds NUMERIC(10,2) NOT NULL,
    provider TEXT NOT NULL,
    external_id TEXT,
    status TEXT NOT NULL,
    cost NUMERIC(10,6) NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
  )`,
  `CREATE INDEX IF NOT EXISTS idx_voice_messages_agent_date ON voice_messages (agent_id, created_at)`
]

export default runStatements(statements)
