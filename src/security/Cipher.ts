import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto"
import { AppConfig } from "../config/AppConfig.ts"

/** What a key is used for: each purpose gets its own key derived (HKDF-SHA256) from CREDENTIALS_ENCRYPTION_KEY. */
export type CipherPurpose = "message-bodies" | "callback-outbox" | "provider-credentials" | "unsubscribe"

const VERSION = "v1"

/**
 * AES-256-GCM encryption at rest for opted-in message bodies, outbox payloads
 * and provider credentials. Output: `v1:<base64(iv ‖ tag ‖ ciphertext)>`.
 */
export class Cipher extends Effect.Service<Cipher>()("app/security/Cipher", {
  effect: Effect.gen(function*() {
    const config = yield* AppConfig
    const master = Redacted.value(config.encryptionKey)
    const keys = new Map<CipherPurpose, Buffer>()
    const keyFor = (purpose: CipherPurpose) => {
      let key = keys.get(purpose)
      if (key === undefined) {
        key = Buffer.from(hkdfSync("sha256", master, Buffer.alloc(0), `agentos-comms/${purpose}`, 32))
        keys.set(purpose, key)
      }
      return key
    }
    return {
      encrypt: (purpose: CipherPurpose, plaintext: string): string => {
        const iv = randomBytes(12)
        const cipher = createCipheriv("aes-256-gcm", keyFor(purpose), iv)
        const data = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()])
        return `${VERSION}:${Buffer.concat([iv, cipher.getAuthTag(), data]).toString("base64")}`
      },
      /** Undefined when the value is not ours or was tampered with. */
      decrypt: (purpose: CipherPurpose, sealed: string): string | undefined => {
        if (!sealed.startsWith(`${VERSION}:`)) return undefined
        try {
          const raw = Buffer.from(sealed.slice(VERSION.length + 1), "base64")
          if (raw.length < 28) return undefined
          const decipher = createDecipheriv("aes-256-gcm", keyFor(purpose), raw.subarray(0, 12))
          decipher.setAuthTag(raw.subarray(12, 28))
          return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8")
        } catch {
          return undefined
        }
      }
    } as const
  })
}) {}
