import * as Effect from "effect/Effect"
import type { TelephonyAdapter } from "../Adapters.ts"
import type { Secret } from "../../webhooks/verify.ts"
import { verifyTwilioRequest } from "./TwilioSignature.ts"
import { decodeTwilioMessage, decodeTwilioStatus } from "./TwilioWebhooks.ts"

/** The header a Twilio-signed request (webhook or WebSocket handshake) carries its signature in. */
export const TWILIO_SIGNATURE_HEADER = "x-twilio-signature"

/**
 * How a telephony adapter that speaks Twilio's webhook format (Twilio itself, and the sandbox
 * carrier, which signs as Twilio does with its own token) verifies and decodes its webhooks.
 */
export const twilioWebhookCodec = (
  authToken: Secret
): Pick<TelephonyAdapter, "verifyWebhook" | "decodeMessage" | "decodeStatus"> => ({
  verifyWebhook: (req) =>
    Effect.sync(() =>
      verifyTwilioRequest({
        authToken,
        signatureHeader: req.headers[TWILIO_SIGNATURE_HEADER],
        url: req.url,
        params: req.params,
        rawBody: req.rawBody
      })
    ),
  decodeMessage: (req) => decodeTwilioMessage(req.params),
  decodeStatus: (req) => decodeTwilioStatus(req.params)
})
