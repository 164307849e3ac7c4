import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { parseWith, type Vendor } from "../Vendor.ts"
import { makeTwilio, TwilioCredentials } from "./TwilioAdapter.ts"

/** TWILIO_API_BASE_URL: another origin for the REST API (the local emulator); unset in production. */
const options = Config.all({
  apiBaseUrl: Config.option(Config.string("TWILIO_API_BASE_URL")),
  timeoutMs: Config.integer("TWILIO_TIMEOUT_MS").pipe(Config.withDefault(15_000))
})

export const TwilioVendor: Vendor = {
  name: "twilio",
  slot: "telephony",
  capabilities: ["sms", "mms", "whatsapp", "voice"],
  parseCredentials: parseWith(TwilioCredentials),
  fromEnv: Effect.gen(function*() {
    const sid = yield* Config.option(Config.string("TWILIO_ACCOUNT_SID"))
    const token = yield* Config.option(Config.redacted("TWILIO_AUTH_TOKEN"))
    if (Option.isNone(sid) && Option.isNone(token)) return Option.none()
    if (Option.isNone(sid)) return yield* Effect.fail(ConfigError.MissingData(["TWILIO_ACCOUNT_SID"], "TWILIO_AUTH_TOKEN is set"))
    if (Option.isNone(token)) return yield* Effect.fail(ConfigError.MissingData(["TWILIO_AUTH_TOKEN"], "TWILIO_ACCOUNT_SID is set"))
    return Option.some({ accountSid: sid.value, authToken: Redacted.value(token.value) })
  }),
  make: (credentials) =>
    Effect.map(options, (o) =>
      makeTwilio(
        { accountSid: credentials["accountSid"] ?? "", authToken: Redacted.make(credentials["authToken"] ?? "") },
        { apiBaseUrl: Option.getOrUndefined(o.apiBaseUrl), timeoutMs: o.timeoutMs }
      ))
}
