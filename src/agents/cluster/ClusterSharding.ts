import * as MessageStorage from "@effect/cluster/MessageStorage"
import * as RunnerAddress from "@effect/cluster/RunnerAddress"
import * as Sharding from "@effect/cluster/Sharding"
import * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as ShardId from "@effect/cluster/ShardId"
import * as SingleRunner from "@effect/cluster/SingleRunner"
import * as SqlMessageStorage from "@effect/cluster/SqlMessageStorage"
import * as SqlRunnerStorage from "@effect/cluster/SqlRunnerStorage"
import * as TestRunner from "@effect/cluster/TestRunner"
import * as NodeClusterSocket from "@effect/platform-node/NodeClusterSocket"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import { DatabaseInfo } from "../../db/Database.ts"
import { AgentRuntimeInfo } from "./RuntimeInfo.ts"

/**
 * Cluster settings (only read when AGENT_RUNTIME=cluster):
 *
 * - `CLUSTER_RUNNER_ADDRESS` host:port this runner is reached at by the others (and binds, unless
 *   `CLUSTER_RUNNER_LISTEN` says otherwise). Required to run several runners; never derived from
 *   `PORT` (that is the HTTP port).
 * - `CLUSTER_SHARDS` shards per group (default 300): the same on every runner, never changed once
 *   messages are stored.
 * - `CLUSTER_FAILOVER_SECONDS` (default 6): a runner whose heartbeat is older than this is dropped
 *   and its shards move; the other timings are derived from it (see docs/SCALING.md).
 */
export const ClusterSettings = Config.all({
  runnerAddress: Config.option(Config.string("CLUSTER_RUNNER_ADDRESS")),
  listenAddress: Config.option(Config.string("CLUSTER_RUNNER_LISTEN")),
  shards: Config.integer("CLUSTER_SHARDS").pipe(Config.withDefault(300), Config.validate({
    message: "CLUSTER_SHARDS: a positive integer",
    validation: (n) => n > 0
  })),
  failoverSeconds: Config.number("CLUSTER_FAILOVER_SECONDS").pipe(Config.withDefault(6), Config.validate({
    message: "CLUSTER_FAILOVER_SECONDS: at least 3",
    validation: (n) => n >= 3
  }))
})
export type ClusterSettings = Config.Config.Success<typeof ClusterSettings>

const parseAddress = (
  name: string,
  value: string
): Effect.Effect<RunnerAddress.RunnerAddress, ConfigError.ConfigError> => {
  const match = /^(.+):(\d{1,5})$/.exec(value)
  const port = Number(match?.[2])
  return match?.[1] === undefined || !(port > 0 && port < 65536)
    ? Effect.fail(ConfigError.InvalidData([name], `${name}: expected host:port, e.g. 10.0.0.5:34431`))
    : Effect.succeed(RunnerAddress.make(match[1], port))
}

/**
 * The timings, tuned for a fast failover (the library defaults take ~30 s to notice a dead runner):
 * heartbeat every third of the expiration, the runner list polled every second, stored messages
 * of newly acquired shards re-read within a third of it, a ping health check at the expiration.
 */
export const shardingConfig = (
  settings: ClusterSettings,
  runnerAddress: Option.Option<RunnerAddress.RunnerAddress>,
  listenAddress: Option.Option<RunnerAddress.RunnerAddress>
): Partial<ShardingConfig.ShardingConfig["Type"]> => {
  const expiration = Duration.seconds(settings.failoverSeconds)
  const third = Duration.millis(Math.round(settings.failoverSeconds * 1000 / 3))
  return {
    runnerAddress,
    runnerListenAddress: listenAddress,
    shardsPerGroup: settings.shards,
    shardLockExpiration: expiration,
    shardLockRefreshInterval: third,
    refreshAssignmentsInterval: Duration.seconds(1),
    entityMessagePollInterval: third,
    runnerHealthCheckInterval: expiration,
    entityReplyPollInterval: Duration.millis(100)
  }
}

/** Key of the session advisory lock that serializes creating the cluster tables. */
const TABLES_LOCK = 0x61676e74

/**
 * Creates the cluster tables once, before this runner joins: the storage layers run their own
 * migrations when built, and several runners starting at once on an empty database race on them
 * (`relation "cluster_migrations" already exists`). Built here under a session advisory lock, the
 * first runner creates them and the others find them done.
 */
export const ensureTables = (config: Partial<ShardingConfig.ShardingConfig["Type"]>) =>
  Effect.scoped(Effect.gen(function*() {
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    const conn = yield* sql.reserve
    yield* Effect.acquireRelease(
      conn.executeRaw(`SELECT pg_advisory_lock(${TABLES_LOCK})`, []),
      () => Effect.ignore(conn.executeRaw(`SELECT pg_advisory_unlock(${TABLES_LOCK})`, []))
    )
    yield* Layer.build(
      Layer.mergeAll(SqlMessageStorage.layer, SqlRunnerStorage.layer).pipe(
        Layer.provide(ShardingConfig.layer({ ...config, runnerAddress: Option.none() }))
      )
    )
  }))

/** Shards this runner owns, as a gauge on /metrics (`comms_cluster_shards_owned`). */
const shardsOwned = Metric.gauge("comms_cluster_shards_owned", {
  description: "Shards of the agent entities owned by this runner"
})

const infoLayer = (runner: string, shards: number) =>
  Layer.scoped(
    AgentRuntimeInfo,
    Effect.gen(function*() {
      const sharding = yield* Sharding.Sharding
      const owned = Effect.sync(() => {
        let n = 0
        for (let i = 1; i <= shards; i++) if (sharding.hasShardId(ShardId.make("default", i))) n++
        return n
      })
      yield* Effect.forkScoped(
        Effect.flatMap(owned, (n) => Metric.set(shardsOwned, n)).pipe(Effect.repeat(Schedule.spaced("1 second")))
      )
      return AgentRuntimeInfo.of({
        describe: Effect.map(owned, (n) => ({ kind: "cluster" as const, runner, shards: n, shardsPerGroup: shards }))
      })
    })
  )

/**
 * Sharding for the cluster runtime, chosen from the database and settings:
 * - embedded PGlite: everything in memory, one process (a single-process cluster; tests and dev);
 * - PostgreSQL without CLUSTER_RUNNER_ADDRESS: one durable runner (SQL message storage);
 * - PostgreSQL with CLUSTER_RUNNER_ADDRESS: a runner among others (socket transport, SQL message
 *   and runner storage, advisory-lock shard ownership).
 */
export const layer: Layer.Layer<
  Sharding.Sharding | AgentRuntimeInfo,
  ConfigError.ConfigError,
  SqlClient.SqlClient | DatabaseInfo
> = Layer.unwrapEffect(Effect.gen(function*() {
  const db = yield* DatabaseInfo
  const settings = yield* ClusterSettings
  if (db.kind === "pglite") {
    const sharding: Layer.Layer<Sharding.Sharding | MessageStorage.MessageStorage> = TestRunner.layer
    return Layer.provideMerge(infoLayer("memory", 300), sharding)
  }
  if (Option.isNone(settings.runnerAddress)) {
    const config = shardingConfig(settings, Option.some(RunnerAddress.make("localhost", 0)), Option.none())
    yield* Effect.orDie(ensureTables(config))
    return Layer.provideMerge(
      infoLayer("single", settings.shards),
      SingleRunner.layer({ shardingConfig: config, runnerStorage: "memory" })
    )
  }
  const address = yield* parseAddress("CLUSTER_RUNNER_ADDRESS", settings.runnerAddress.value)
  const listen = Option.isSome(settings.listenAddress)
    ? Option.some(yield* parseAddress("CLUSTER_RUNNER_LISTEN", settings.listenAddress.value))
    : Option.none()
  const config = shardingConfig(settings, Option.some(address), listen)
  yield* Effect.orDie(ensureTables(config))
  return Layer.provideMerge(
    infoLayer(`${address.host}:${address.port}`, settings.shards),
    // cannot listen on the runner address: the runner cannot serve its shards, stop
    NodeClusterSocket.layer({ storage: "sql", shardingConfig: config }).pipe(
      Layer.catchAll((e) => e._tag === "SocketServerError" ? Layer.die(e) : Layer.fail(e))
    )
  )
}))
