/**
 * vitest globalSetup: one PostgreSQL server for the whole run.
 *
 * - `TEST_DATABASE_URL` set → use that server (it must allow CREATE DATABASE).
 * - otherwise start a throwaway cluster (`initdb`/`pg_ctl` from PATH or /usr/lib/postgresql/<v>/bin,
 *   run as the `postgres` user when root); fails with a clear message when the binaries are missing.
 *
 * Tests read the URL with `inject("pgUrl")`; child processes see it as `TEST_DATABASE_URL`.
 * Test files create their own database on it (`freshPgDatabase` / `freshPgLayer`).
 */
import type { TestProject } from "vitest/node"
import { startPostgres } from "./postgres.ts"

export default async function setup(project: TestProject): Promise<(() => void) | undefined> {
  const external = process.env["TEST_DATABASE_URL"]
  if (external !== undefined && external.trim() !== "") {
    project.provide("pgUrl", external)
    return undefined
  }
  const server = await startPostgres()
  process.env["TEST_DATABASE_URL"] = server.url
  project.provide("pgUrl", server.url)
  return () => {
    server.stop()
    delete process.env["TEST_DATABASE_URL"]
  }
}
