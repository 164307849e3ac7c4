/**
 * A cluster runner. `npm run runner` (`node --import tsx src/runner.ts`): the same server as
 * src/main.ts (MCP, webhooks, health, admin on HOST:PORT) with the agents on the cluster runtime,
 * so each runner serves clients and hosts its share of the agents. Needs PostgreSQL
 * (`DATABASE_URL`) and this runner's own `CLUSTER_RUNNER_ADDRESS` (host:port the other runners
 * reach it at; never taken from PORT). See docs/SCALING.md.
 */
const missing = ["DATABASE_URL", "CLUSTER_RUNNER_ADDRESS"].filter((name) => (process.env[name] ?? "") === "")
if (missing.length > 0) {
  process.stderr.write(`runner: set ${missing.join(" and ")} (PostgreSQL shared by every runner; this runner's host:port)\n`)
  process.exit(1)
}
process.env["AGENT_RUNTIME"] = "cluster"
await import("./main.ts")
