/**
 * The encryption key is checked at start-up against the database: another
 * key stops the server with one line; the previous key configured as
 * CREDENTIALS_ENCRYPTION_KEY_PREVIOUS lets a rotation through, and values
 * sealed with it (pending callbacks) still open.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import { spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { TEST_MASTER_TOKEN, TestDomain } from "../../layers/Test.ts"
import { Cipher } from "../../src/security/Cipher.ts"

const root = fileURLToPath(new URL("../../", import.meta.url))
const keyA = randomBytes(32).toString("hex")
const keyB = randomBytes(32).toString("hex")

const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "agentos-keycheck-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

/** Builds the domain on DATA_DIR with the given keys and runs `f` with its Cipher. */
const withCipher = <A>(env: Record<string, string>, f: (cipher: Cipher) => A) =>
  Effect.scoped(Effect.flatMap(Layer.build(TestDomain({ env })), (ctx) =>
    Effect.map(Effect.provide(Cipher, ctx), f)))

describe("encryption key check", () => {
  it.scoped("another key stops start-up; the previous key lets a rotation through and old values still open", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const sealed = yield* withCipher(
        { DATA_DIR: dir, CREDENTIALS_ENCRYPTION_KEY: keyA },
        (c) => c.encrypt("callback-outbox", "{\"pending\":true}")
      )
      const wrong = yield* Effect.exit(withCipher({ DATA_DIR: dir, CREDENTIALS_ENCRYPTION_KEY: keyB }, () => 0))
      expect(Exit.isFailure(wrong)).toBe(true)
      expect(String(Exit.isFailure(wrong) ? wrong.cause : "")).toContain("CREDENTIALS_ENCRYPTION_KEY")
      const rotated = yield* withCipher(
        { DATA_DIR: dir, CREDENTIALS_ENCRYPTION_KEY: keyB, CREDENTIALS_ENCRYPTION_KEY_PREVIOUS: keyA },
        (c) => ({ old: c.decrypt("callback-outbox", sealed), fresh: c.encrypt("callback-outbox", "new") })
      )
      expect(rotated.old).toBe("{\"pending\":true}")
      // after the rotation the new key is the database's key
      const after = yield* withCipher({ DATA_DIR: dir, CREDENTIALS_ENCRYPTION_KEY: keyB }, (c) =>
        c.decrypt("callback-outbox", rotated.fresh))
      expect(after).toBe("new")
    }), { timeout: 120_000 })

  it.scoped("the real entry point stops with one clear line", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const run = (key: string) =>
        spawnSync(process.execPath, ["--import", "tsx", "src/main.ts", "--stdio"], {
          cwd: root,
          env: {
            PATH: process.env["PATH"] ?? "",
            DATA_DIR: dir,
            PORT: "0",
            HOST: "127.0.0.1",
            MASTER_SECURITY_TOKEN: TEST_MASTER_TOKEN,
            CREDENTIALS_ENCRYPTION_KEY: key
          },
          input: "",
          encoding: "utf8",
          timeout: 60_000
        })
      const first = run(keyA)
      expect(first.status, first.stderr).toBe(0)
      const second = run(keyB)
      expect(second.status).toBe(1)
      const plain = second.stderr.split("\n").filter((l) => l.length > 0 && !l.startsWith("{"))
      expect(plain).toEqual([
        "start-up stopped: CREDENTIALS_ENCRYPTION_KEY is not the key this database was written with " +
        "(to rotate, set CREDENTIALS_ENCRYPTION_KEY_PREVIOUS to the old key)"
      ])
    }), { timeout: 120_000 })
})
