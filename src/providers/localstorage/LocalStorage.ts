import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { promises as fs } from "node:fs"
import * as path from "node:path"
import { ProviderError } from "../ProviderError.ts"
import { Storage, type StoredObject } from "../Storage.ts"

const SAFE_KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/

const checkKey = (key: string) =>
  SAFE_KEY.test(key) && !key.split("/").includes("..")
    ? Effect.succeed(key)
    : Effect.fail(new ProviderError({ provider: "local", operation: "storage key", reason: "invalid key" }))

/** In memory (DATA_DIR=:memory:, tests). */
const memory = () => {
  const objects = new Map<string, StoredObject>()
  return Storage.of({
    provider: "local",
    put: (key, object) => Effect.flatMap(checkKey(key), (k) => Effect.sync(() => void objects.set(k, object))),
    get: (key) => Effect.flatMap(checkKey(key), (k) => Effect.sync(() => Option.fromNullable(objects.get(k)))),
    remove: (key) => Effect.flatMap(checkKey(key), (k) => Effect.sync(() => void objects.delete(k)))
  })
}

/**
 * Storage on the local filesystem under `<DATA_DIR>/media`: the object, and
 * its content type in a `.type` file beside it.
 */
const files = (root: string) => {
  const fail = (operation: string) => (cause: unknown) =>
    new ProviderError({ provider: "local", operation, reason: "filesystem error", cause })
  const file = (key: string) => path.join(root, ...key.split("/"))
  return Storage.of({
    provider: "local",
    put: (key, object) =>
      Effect.flatMap(checkKey(key), (k) =>
        Effect.tryPromise({
          try: async () => {
            await fs.mkdir(path.dirname(file(k)), { recursive: true })
            await fs.writeFile(file(k), object.bytes, { mode: 0o600 })
            await fs.writeFile(`${file(k)}.type`, object.contentType, { mode: 0o600 })
          },
          catch: fail("put")
        })),
    get: (key) =>
      Effect.flatMap(checkKey(key), (k) =>
        Effect.tryPromise({
          try: async () => {
            try {
              const [bytes, contentType] = await Promise.all([fs.readFile(file(k)), fs.readFile(`${file(k)}.type`, "utf8")])
              return Option.some({ bytes: new Uint8Array(bytes), contentType })
            } catch (e) {
              if ((e as NodeJS.ErrnoException).code === "ENOENT") return Option.none<StoredObject>()
              throw e
            }
          },
          catch: fail("get")
        })),
    remove: (key) =>
      Effect.flatMap(checkKey(key), (k) =>
        Effect.tryPromise({
          try: () => Promise.all([fs.rm(file(k), { force: true }), fs.rm(`${file(k)}.type`, { force: true })]),
          catch: fail("remove")
        }).pipe(Effect.asVoid))
  })
}

/** Local storage under `dataDir/media`, or in memory when `dataDir` is ":memory:". */
export const layer = (dataDir: string) =>
  Layer.sync(Storage, () => (dataDir === ":memory:" ? memory() : files(path.resolve(dataDir, "media"))))
