import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { AppConfig } from "../../config/AppConfig.ts"
import { decodeSendGridInbound, decodeTwilioMessage, decodeTwilioStatus, parseMultipart } from "../../webhooks/parse.ts"
import { multipartFiles } from "../../webhooks/multipartFiles.ts"
import { verifyBasicAuth, verifyTwilioRequest, verifyUrlSecret } from "../../webhooks/verify.ts"
import { EmailProvider, type InboundAttachment } from "../EmailProvider.ts"
import type { ProviderHealth } from "../ProviderError.ts"
import { Telephony } from "../Telephony.ts"
import { VoiceOrchestrator } from "../VoiceOrchestrator.ts"
import { WhatsAppSenders } from "../WhatsAppSenders.ts"
import { ProviderError } from "../ProviderError.ts"
import { SandboxCarrier } from "./SandboxCarrier.ts"
import { SandboxCalls } from "./SandboxCalls.ts"
import { SandboxDelivery } from "./SandboxDelivery.ts"

/** The sandbox adapters of every provider port, all backed by the one SandboxCarrier. */
const ok: Effect.Effect<ProviderHealth> = Effect.succeed({ status: "ok" })

/** Largest inbound email the sandbox mail system posts (SendGrid's own cap is 30 MB; ours is the route's). */
const MAX_INBOUND_EMAIL_BYTES = 10 * 1024 * 1024

const ATTACHMENT_FIELD = /^attachment([1-9]\d{0,5})$/

/** A file name safe to show as `cid:<name>`: no path, no control characters, bounded. */
const safeFileName = (name: string, fallback: string): string => {
  const base = name.split(/[\\/]/).pop() ?? ""
  const cleaned = base.replace(/[\u0000-\u001f\u007f"<>]/g, "").trim().slice(0, 200)
  return cleaned === "" ? fallback : cleaned
}

/**
 * The sandbox carrier speaks Twilio's webhook formats (form posts signed with
 * `X-Twilio-Signature`, keyed by SANDBOX_AUTH_TOKEN) and SendGrid's Inbound
 * Parse (multipart, unsigned: authenticated by `?key=<INBOUND_EMAIL_SECRET>` in
 * the inbound URL, or basic auth `sendgrid:<INBOUND_EMAIL_SECRET>`).
 */
export const SandboxTelephony = Layer.effect(
  Telephony,
  Effect.gen(function*() {
    const carrier = yield* SandboxCarrier
    const delivery = yield* SandboxDelivery
    const calls = yield* SandboxCalls
    const config = yield* AppConfig
    return Telephony.of({
      provider: "sandbox",
      provisionNumber: ({ agentId }) => carrier.allocatePhoneNumber(agentId),
      sendMessage: delivery.sendMessage,
      verifyWebhook: (req) =>
        verifyTwilioRequest({
          authToken: config.sandboxAuthToken,
          signatureHeader: req.headers["x-twilio-signature"],
          url: req.url,
          params: req.params,
          rawBody: req.rawBody
        }),
      decodeMessage: decodeTwilioMessage,
      decodeStatus: decodeTwilioStatus,
      releaseNumber: (agentId) => carrier.release(agentId, "phone"),
      placeCall: calls.placeCall,
      updateCall: calls.updateCall,
      health: ok
    })
  })
)

export const SandboxEmail = Layer.effect(
  EmailProvider,
  Effect.gen(function*() {
    const carrier = yield* SandboxCarrier
    const delivery = yield* SandboxDelivery
    const config = yield* AppConfig
    const presentedKey = (url: string): string | undefined => {
      try {
        return new URL(url).searchParams.get("key") ?? undefined
      } catch {
        return undefined
      }
    }
    return EmailProvider.of({
      provider: "sandbox",
      provisionAddress: ({ agentId }) => carrier.allocateEmail(agentId),
      send: (req) =>
        delivery.sendEmail(req).pipe(
          Effect.mapError((e) => new ProviderError({ provider: "sandbox", operation: "send email", reason: e.reason }))
        ),
      verifyInbound: (req) =>
        verifyUrlSecret({ expected: config.inboundEmailSecret, presented: presentedKey(req.url) }) ||
        verifyBasicAuth(req.headers["authorization"], "sendgrid", config.inboundEmailSecret),
      decodeInbound: (rawBody, contentType) =>
        Effect.gen(function*() {
          const parts = yield* parseMultipart(rawBody, contentType, { maxBytes: MAX_INBOUND_EMAIL_BYTES })
          const email = yield* decodeSendGridInbound(parts)
          const files = parts.files.some((f) => ATTACHMENT_FIELD.test(f.field))
            ? yield* multipartFiles(rawBody, contentType, (field) => ATTACHMENT_FIELD.test(field))
            : []
          const attachments: ReadonlyArray<InboundAttachment> = [...files]
            .sort((a, b) => Number(ATTACHMENT_FIELD.exec(a.field)?.[1]) - Number(ATTACHMENT_FIELD.exec(b.field)?.[1]))
            .map((f) => ({
              filename: safeFileName(f.filename, f.field),
              contentType: f.contentType,
              bytes: f.bytes
            }))
          return { email, attachments }
        }),
      releaseAddress: (agentId) => carrier.release(agentId, "email"),
      health: ok
    })
  })
)

export const SandboxVoice = Layer.effect(
  VoiceOrchestrator,
  Effect.map(SandboxCarrier, (carrier) =>
    VoiceOrchestrator.of({
      provider: "sandbox",
      createApp: ({ agentId }) => carrier.allocateVoiceApp(agentId),
      deleteApp: (agentId) => carrier.release(agentId, "voice_app"),
      health: ok
    }))
)

/** Sandbox senders are approved at once: there is no Meta review in the sandbox. */
export const SandboxWhatsApp = Layer.succeed(
  WhatsAppSenders,
  WhatsAppSenders.of({
    provider: "sandbox",
    assignProfile: () => Effect.succeed({ status: "active" as const }),
    health: ok
  })
)

export const SandboxProviders = Layer.mergeAll(SandboxTelephony, SandboxEmail, SandboxVoice, SandboxWhatsApp)
