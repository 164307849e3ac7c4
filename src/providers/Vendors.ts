import { SendGridVendor } from "./sendgrid/SendGridVendor.ts"
import { TwilioVendor } from "./twilio/TwilioVendor.ts"
import type { Vendor } from "./Vendor.ts"

/** Every vendor this build can use, by registry name. Adding a vendor = its folder + one line here. */
export const VENDORS: ReadonlyMap<string, Vendor> = new Map(
  [TwilioVendor, SendGridVendor].map((v) => [v.name, v])
)
