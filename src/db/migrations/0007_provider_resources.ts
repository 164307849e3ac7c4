/**
 * Which provider gave an agent which number or inbox, with the vendor's own reference (e.g. the
 * number's resource id), so that release goes to the provider that holds it, and webhooks are
 * verified by that provider first. One row per agent and kind; the sandbox carrier is a provider too.
 */
import { runStatements } from "./runStatements.ts"

export const statements: ReadonlyArray<string> = [
  `CREATE TABLE provider_resources (
    agent_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    provider TEXT NOT NULL,
    address TEXT NOT NULL,
    provider_ref TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (agent_id, kind)
  )`
]

export default runStatements(statements)
