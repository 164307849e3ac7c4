/**
 * Messaging: media lists and retention on `messages`, the agent-to-agent
 * marker, the sandbox carrier's outbox (mail and texts to addresses outside
 * the sandbox), and the WhatsApp template registry.
 */
import { runStatements } from "./runStatements.ts"

export const statements: ReadonlyArray<string> = [
  `ALTER TABLE messages ADD COLUMN media JSONB NOT NULL DEFAULT '[]'`,
  `ALTER TABLE messages ADD COLUMN from_agent_id TEXT`,
  `ALTER TABLE messages ADD COLUMN body_expires_at TIMESTAMPTZ`,
  `CREATE INDEX idx_messages_body_expiry ON messages (body_expires_at) WHERE body_expires_at IS NOT NULL`,
  `CREATE INDEX idx_messages_contact ON messages (contact)`,
  `CREATE TABLE sandbox_outbox (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    provider_message_id TEXT UNIQUE NOT NULL,
    channel TEXT NOT NULL,
    from_address TEXT NOT NULL,
    to_address TEXT NOT NULL,
    subject TEXT,
    body TEXT,
    media JSONB NOT NULL DEFAULT '[]',
    bcc TEXT,
    status TEXT NOT NULL DEFAULT 'delivered',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
  )`,
  `CREATE INDEX idx_sandbox_outbox_created ON sandbox_outbox (created_at)`,
  `CREATE TABLE whatsapp_templates (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    language TEXT NOT NULL DEFAULT 'en',
    status TEXT NOT NULL DEFAULT 'approved',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
  )`
]

export default runStatements(statements)
