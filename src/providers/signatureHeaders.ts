import { TWILIO_SIGNATURE_HEADER } from "./twilio/TwilioWebhookCodec.ts"

/** Request headers in which a provider we speak with signs what it sends us. */
const SIGNATURE_HEADERS: ReadonlyArray<string> = [TWILIO_SIGNATURE_HEADER]

/** Whether a request carries a provider's signature (then it must verify; without one, other proof is needed). */
export const carriesProviderSignature = (headers: Readonly<Record<string, string | undefined>>): boolean =>
  SIGNATURE_HEADERS.some((h) => headers[h] !== undefined)
