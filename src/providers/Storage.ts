import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type { ProviderError } from "./ProviderError.ts"

export interface StoredObject {
  readonly bytes: Uint8Array
  readonly contentType: string
}

/**
 * Port: blob storage for generated audio and recordings. Keys are ours
 * (`voice/<agentId>/<id>.wav`), never user input. Clients get objects only
 * through the server's signed, expiring `/media/…` URLs (see `MediaRoutes`).
 * Adapters: local filesystem under DATA_DIR (default), S3-compatible.
 */
export class Storage extends Context.Tag("app/providers/Storage")<Storage, {
  readonly provider: string
  readonly put: (key: string, object: StoredObject) => Effect.Effect<void, ProviderError>
  readonly get: (key: string) => Effect.Effect<Option.Option<StoredObject>, ProviderError>
  readonly remove: (key: string) => Effect.Effect<void, ProviderError>
}>() {}
