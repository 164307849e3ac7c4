import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import { AppConfig } from "../config/AppConfig.ts"

/**
 * The public base URL of our HTTP server, as providers call it: what webhook
 * URLs are built from and what their signatures are checked against.
 * WEBHOOK_BASE_URL when configured; otherwise the loopback address the server
 * actually bound to (known once it listens, which matters with PORT=0).
 */
export class PublicUrl extends Effect.Service<PublicUrl>()("app/http/PublicUrl", {
  effect: Effect.gen(function*() {
    const config = yield* AppConfig
    const configured = Option.isSome(config.webhookBaseUrl)
    const ref = yield* Ref.make(config.webhookBaseUrl.pipe(Option.getOrElse(() => `http://127.0.0.1:${config.port}`)))
    return {
      get: Ref.get(ref),
      /** Called once the server listens; ignored when WEBHOOK_BASE_URL is configured. */
      bound: (port: number) => (configured ? Effect.void : Ref.set(ref, `http://127.0.0.1:${port}`)),
      /** `<base>/webhooks/<agentId>/<kind>` */
      webhook: (agentId: string, kind: string) =>
        Effect.map(Ref.get(ref), (base) => `${base}/webhooks/${encodeURIComponent(agentId)}/${kind}`)
    } as const
  })
}) {}
