import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { ProviderError, ProviderHealth } from "./ProviderError.ts"

/**
 * Port: WhatsApp sender registration. Registering a sender is slow in the real
 * world (Meta review), so senders are registered ahead of time into the
 * `whatsapp_pool` table and assigned from there; this port only says what a
 * freshly assigned sender's review status is and renames its profile.
 */
export class WhatsAppSenders extends Context.Tag("app/providers/WhatsAppSenders")<WhatsAppSenders, {
  readonly provider: string
  readonly assignProfile: (req: {
    readonly senderSid: string
    readonly displayName: string
  }) => Effect.Effect<{ readonly status: "active" | "pending_review" }, ProviderError>
  readonly health: Effect.Effect<ProviderHealth>
}>() {}
