import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { PoolExhausted } from "../../schema/Errors.ts"
import { AppConfig } from "../config/AppConfig.ts"

const Int = Schema.Union(Schema.Number, Schema.NumberFromString)
const PoolRow = Schema.Struct({ maxAgents: Int, activeAgents: Int })
export type PoolStatus = typeof PoolRow.Type

/**
 * The agent pool: a fixed number of slots (INITIAL_AGENT_POOL_SIZE, expanded
 * only on purpose). Taking a slot is one conditional UPDATE, so concurrent
 * provisioning can never overfill the pool, on PGlite or on PostgreSQL.
 */
export class AgentPool extends Effect.Service<AgentPool>()("app/agents/AgentPool", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const config = yield* AppConfig
    const decode = Schema.decodeUnknown(Schema.Array(PoolRow))
    const one = <E, R>(rows: Effect.Effect<ReadonlyArray<unknown>, E, R>) =>
      rows.pipe(Effect.flatMap(decode), Effect.map((r) => Option.fromNullable(r[0])))

    yield* sql`INSERT INTO agent_pool (id, max_agents, active_agents) VALUES (1, ${config.initialPoolSize}, 0)
      ON CONFLICT (id) DO NOTHING`

    const status = one(sql`SELECT max_agents, active_agents FROM agent_pool WHERE id = 1`).pipe(
      Effect.map(Option.getOrElse(() => ({ maxAgents: 0, activeAgents: 0 }))),
      Effect.orDie
    )

    return {
      status,
      /** Takes one slot; returns the slots left. */
      acquire: Effect.gen(function*() {
        const row = yield* one(sql`UPDATE agent_pool SET active_agents = active_agents + 1, updated_at = now()
          WHERE id = 1 AND active_agents < max_agents RETURNING max_agents, active_agents`).pipe(Effect.orDie)
        if (Option.isNone(row)) {
          const s = yield* status
          return yield* new PoolExhausted({
            message: `the agent pool is full (${s.activeAgents}/${s.maxAgents}); deprovision an agent or ask the admin to expand the pool`,
            maxAgents: s.maxAgents
          })
        }
        return row.value.maxAgents - row.value.activeAgents
      }).pipe(Effect.withSpan("AgentPool.acquire")),
      /** Returns one slot; returns the slots left. */
      release: one(sql`UPDATE agent_pool SET active_agents = active_agents - 1, updated_at = now()
          WHERE id = 1 AND active_agents > 0 RETURNING max_agents, active_agents`).pipe(
        Effect.flatMap(Option.match({ onNone: () => status, onSome: Effect.succeed })),
        Effect.map((r) => r.maxAgents - r.activeAgents),
        Effect.orDie,
        Effect.withSpan("AgentPool.release")
      ),
      /** Adds `by` slots (admin). */
      expand: (by: number) =>
        one(sql`UPDATE agent_pool SET max_agents = max_agents + ${by}, updated_at = now()
          WHERE id = 1 RETURNING max_agents, active_agents`).pipe(
          Effect.flatMap(Option.match({ onNone: () => status, onSome: Effect.succeed })),
          Effect.orDie,
          Effect.withSpan("AgentPool.expand")
        )
    } as const
  })
}) {}
