import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { createHmac, timingSafeEqual } from "node:crypto"
import { AppConfig } from "../config/AppConfig.ts"
import { PublicUrl } from "../http/PublicUrl.ts"

/**
 * Signed, expiring URLs for stored media (voice messages, recordings):
 * `<base>/media/<key>?exp=<unix s>&sig=<HMAC-SHA256(key|exp)>`, keyed by a
 * key derived from CREDENTIALS_ENCRYPTION_KEY. Whoever holds the URL can
 * fetch the object until it expires; nobody can forge another.
 */
export class MediaUrls extends Effect.Service<MediaUrls>()("app/voice/MediaUrls", {
  effect: Effect.gen(function*() {
    const config = yield* AppConfig
    const publicUrl = yield* PublicUrl
    const key = createHmac("sha256", Redacted.value(config.encryptionKey)).update("agentos-comms/media-url/v1").digest()
    const mac = (objectKey: string, exp: number) => createHmac("sha256", key).update(`${objectKey}|${exp}`).digest("base64url")

    return {
      sign: (objectKey: string, ttlSeconds: number) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const exp = Math.floor(now / 1000 + ttlSeconds)
          const base = yield* publicUrl.get
          return `${base}/media/${objectKey.split("/").map(encodeURIComponent).join("/")}?exp=${exp}&sig=${mac(objectKey, exp)}`
        }),
      /** Whether `sig` is this server's signature of the key until `exp`, and `exp` has not passed. */
      verify: (objectKey: string, exp: string | undefined, sig: string | undefined) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          if (exp === undefined || sig === undefined || !/^\d{1,12}$/.test(exp)) return false
          if (Number(exp) * 1000 < now) return false
          const expected = Buffer.from(mac(objectKey, Number(exp)))
          const given = Buffer.from(sig)
          return given.length === expected.length && timingSafeEqual(given, expected)
        })
    } as const
  })
}) {}
