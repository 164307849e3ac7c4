import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from "node:crypto"
import { AppConfig } from "../config/AppConfig.ts"

/** What a key is used for: each purpose gets its own key derived (HKDF-SHA256) from CREDENTIALS_ENCRYPTION_KEY. */
export type CipherPurpose = "message-bodies" | "callback-outbox" | "provider-credentials" | "unsubscribe"

const VERSION = "v1"

/** The start-up check failed: the database was written with another key. */
export class EncryptionKeyMismatch extends Schema.TaggedError<EncryptionKeyMismatch>()("EncryptionKeyMismatch", {
  message: Schema.String
}) {}

/** The check value of a key: HMAC-SHA256 of a constant under a key derived for this purpose only. */
export const keyCheckValue = (master: Buffer): string => {
  const derived = Buffer.from(hkdfSync("sha256", master, Buffer.alloc(0), "agentos-comms/key-check", 32))
  return createHmac("sha256", derived).update("agentos-comms key check v1").digest("hex")
}

const CheckRow = Schema.Struct({ checkValue: Schema.String })

const deriveKeys = (master: Buffer) => {
  const keys = new Map<CipherPurpose, Buffer>()
  return (purpose: CipherPurpose) => {
    let key = keys.get(purpose)
    if (key === undefined) {
      key = Buffer.from(hkdfSync("sha256", master, Buffer.alloc(0), `agentos-comms/${purpose}`, 32))
      keys.set(purpose, key)
    }
    return key
  }
}

const open = (key: Buffer, sealed: string): string | undefined => {
  try {
    const raw = Buffer.from(sealed.slice(VERSION.length + 1), "base64")
    if (raw.length < 28) return undefined
    const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12))
    decipher.setAuthTag(raw.subarray(12, 28))
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8")
  } catch {
    return undefined
  }
}

/**
 * AES-256-GCM encryption at rest for opted-in message bodies, outbox payloads
 * and provider credentials. Output: `v1:<base64(iv ‖ tag ‖ ciphertext)>`.
 *
 * At construction it checks the key against the database's stored check
 * value (the first start stores it). With CREDENTIALS_ENCRYPTION_KEY_PREVIOUS
 * set to the old key, a start with a new key is accepted (the stored value
 * moves to the new key) and values sealed with the old key still open, so
 * pending callbacks deliver; new values are sealed with the new key.
 */
export class Cipher extends Effect.Service<Cipher>()("app/security/Cipher", {
  effect: Effect.gen(function*() {
    const config = yield* AppConfig
    const sql = yield* SqlClient.SqlClient
    const master = Redacted.value(config.encryptionKey)
    const previous = Option.map(config.encryptionKeyPrevious, Redacted.value)
    const current = keyCheckValue(master)

    const stored = yield* sql`SELECT check_value FROM encryption_key_check WHERE id = 1`.pipe(
      Effect.flatMap(Schema.decodeUnknown(Schema.Array(CheckRow))),
      Effect.map((rows) => Option.fromNullable(rows[0]?.checkValue)),
      Effect.orDie
    )
    if (Option.isNone(stored)) {
      yield* sql`INSERT INTO encryption_key_check (id, check_value) VALUES (1, ${current}) ON CONFLICT (id) DO NOTHING`
        .pipe(Effect.orDie)
    } else if (stored.value !== current) {
      if (Option.isSome(previous) && keyCheckValue(previous.value) === stored.value) {
        yield* sql`UPDATE encryption_key_check SET check_value = ${current}, updated_at = now() WHERE id = 1`.pipe(Effect.orDie)
        yield* Effect.logWarning("encryption key rotated: keep CREDENTIALS_ENCRYPTION_KEY_PREVIOUS set until old data is gone")
      } else {
        return yield* new EncryptionKeyMismatch({
          message: "CREDENTIALS_ENCRYPTION_KEY is not the key this database was written with " +
            "(to rotate, set CREDENTIALS_ENCRYPTION_KEY_PREVIOUS to the old key)"
        })
      }
    }

    const keyFor = deriveKeys(master)
    const previousKeyFor = Option.map(previous, deriveKeys)
    return {
      encrypt: (purpose: CipherPurpose, plaintext: string): string => {
        const iv = randomBytes(12)
        const cipher = createCipheriv("aes-256-gcm", keyFor(purpose), iv)
        const data = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()])
        return `${VERSION}:${Buffer.concat([iv, cipher.getAuthTag(), data]).toString("base64")}`
      },
      /** Undefined when the value is not ours (under the current or the previous key) or was tampered with. */
      decrypt: (purpose: CipherPurpose, sealed: string): string | undefined => {
        if (!sealed.startsWith(`${VERSION}:`)) return undefined
        return open(keyFor(purpose), sealed) ??
          (Option.isSome(previousKeyFor) ? open(previousKeyFor.value(purpose), sealed) : undefined)
      }
    } as const
  })
}) {}
