/**
 * Routing looks agents up by any of their addresses (`AgentsRepo.findByAddress`,
 * on every send to an address and every inbound message): emails compare
 * case-insensitively, so they need an expression index, or the OR of the three
 * lookups falls back to scanning the table.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"

export const statements: ReadonlyArray<string> = [
  `CREATE INDEX idx_agent_channels_email_lower ON agent_channels (lower(email_address))`
]

const migration: Effect.Effect<void, SqlError, SqlClient.SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  for (const statement of statements) {
    yield* sql.unsafe(statement).withoutTransform
  }
})

export default migration
