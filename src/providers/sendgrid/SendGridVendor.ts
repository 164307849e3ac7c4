import * as HttpClient from "@effect/platform/HttpClient"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { AppConfig } from "../../config/AppConfig.ts"
import { parseWith, type Vendor } from "../Vendor.ts"
import { makeSendGrid, SendGridCredentials } from "./SendGridAdapter.ts"

const options = Config.all({
  apiBaseUrl: Config.option(Config.string("SENDGRID_API_BASE_URL")),
  inboundDomain: Config.string("SENDGRID_INBOUND_DOMAIN").pipe(Config.withDefault("agents.example.com")),
  timeoutMs: Config.integer("SENDGRID_TIMEOUT_MS").pipe(Config.withDefault(15_000))
})

export const SendGridVendor: Vendor = {
  name: "sendgrid",
  slot: "email",
  capabilities: ["email"],
  parseCredentials: parseWith(SendGridCredentials),
  fromEnv: Effect.gen(function*() {
    const key = yield* Config.option(Config.redacted("SENDGRID_API_KEY"))
    if (Option.isNone(key)) return Option.none()
    const verification = yield* Config.option(Config.string("SENDGRID_EVENT_VERIFICATION_KEY"))
    return Option.some({
      apiKey: Redacted.value(key.value),
      ...(Option.isSome(verification) ? { eventVerificationKey: verification.value } : {})
    })
  }),
  make: (credentials) =>
    Effect.gen(function*() {
      const o = yield* options
      const config = yield* AppConfig
      const http = yield* HttpClient.HttpClient
      return makeSendGrid(
        { apiKey: Redacted.make(credentials["apiKey"] ?? ""), eventVerificationKey: credentials["eventVerificationKey"] },
        {
          apiBaseUrl: Option.getOrUndefined(o.apiBaseUrl),
          inboundDomain: o.inboundDomain,
          inboundSecret: config.inboundEmailSecret,
          allowPrivateMedia: config.mediaFetchAllowPrivate,
          timeoutMs: o.timeoutMs
        },
        http
      )
    })
}
