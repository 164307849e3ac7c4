import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { EmailProvider } from "../src/providers/EmailProvider.ts"
import type { Telephony } from "../src/providers/Telephony.ts"
import type { VoiceOrchestrator } from "../src/providers/VoiceOrchestrator.ts"
import type { WhatsAppSenders } from "../src/providers/WhatsAppSenders.ts"

/**
 * Real vendor adapters (Twilio, SendGrid, ElevenLabs, Deepgram) are not part
 * of this release. Starting with DEMO_MODE=false stops with one clear line
 * rather than pretending to send.
 */
export const LiveProviders: Layer.Layer<Telephony | EmailProvider | VoiceOrchestrator | WhatsAppSenders> = Layer
  .effectContext(
    Effect.dieMessage(
      "DEMO_MODE=false: live provider adapters (twilio, sendgrid) are not available in this release; " +
        "unset DEMO_MODE (or set DEMO_MODE=true) to run on the sandbox carrier"
    )
  )
