import type { CountryPrices, PricedService, Prices } from "../billing/PriceTable.ts"

/**
 * Vendor prices, kept with the vendor adapters: the only place outside a vendor's folder allowed to
 * name vendors. `PriceTable` uses them as its defaults.
 */

const TELEPHONY: Partial<Record<PricedService, CountryPrices>> = {
  sms: { US: 0.0079, CA: 0.0079, PR: 0.0079, "*": 0.05 },
  mms: { US: 0.02, CA: 0.02, PR: 0.02, "*": 0.05 },
  whatsapp_session: { "*": 0.005 },
  whatsapp_template: {
    US: 0.03,
    CA: 0.03,
    IN: 0.015,
    ID: 0.04,
    BR: 0.07,
    MX: 0.045,
    GB: 0.06,
    DE: 0.08,
    FR: 0.08,
    IL: 0.04,
    "*": 0.08
  },
  voice: { US: 0.1, CA: 0.1, "*": 0.25 },
  voice_stream: { US: 0.045, CA: 0.045, "*": 0.2 }
}

/** Approximate list prices (USD) of the providers the spec names; estimates, not invoices. */
export const defaultPrices: Prices = {
  twilio: TELEPHONY,
  vonage: { ...TELEPHONY, sms: { US: 0.00809, CA: 0.00809, "*": 0.05 } },
  plivo: { ...TELEPHONY, sms: { US: 0.0055, CA: 0.0055, "*": 0.05 }, voice: { US: 0.09, CA: 0.09, "*": 0.25 } },
  telnyx: { ...TELEPHONY, sms: { US: 0.004, CA: 0.004, "*": 0.05 }, voice: { US: 0.09, CA: 0.09, "*": 0.25 } },
  signalwire: { ...TELEPHONY, sms: { US: 0.00415, CA: 0.00415, "*": 0.05 } },
  sendgrid: { email: { "*": 0.001 } },
  resend: { email: { "*": 0.0009 } },
  postmark: { email: { "*": 0.00125 } },
  ses: { email: { "*": 0.0001 } },
  mailgun: { email: { "*": 0.0008 } },
  elevenlabs: { tts: { "*": 0.02 } },
  openai: { tts: { "*": 0.015 } },
  deepgram: { tts: { "*": 0.015 } },
  playht: { tts: { "*": 0.03 } },
  wapi: { tts: { "*": 0.02 } }
}

/** The vendor whose prices a service falls back to (and the `sandbox` provider's equivalent). */
export const defaultVendor: Readonly<Record<PricedService, string>> = {
  sms: "twilio",
  mms: "twilio",
  whatsapp_session: "twilio",
  whatsapp_template: "twilio",
  email: "sendgrid",
  voice: "twilio",
  voice_stream: "twilio",
  tts: "elevenlabs"
}

