import * as Effect from "effect/Effect"
import { InvalidInput, ProviderAuth } from "../../../schema/Errors.ts"
import { RegisterProviderInput, RegisterProviderOutput } from "../../../schema/tools/RegisterProvider.ts"
import { AuditLog } from "../../observability/AuditLog.ts"
import { ProviderCredentials } from "../../providers/ProviderCredentials.ts"
import { Authenticator } from "../../security/Authenticator.ts"
import * as Tool from "../Tool.ts"

const MAX_CREDENTIAL_CHARS = 4096

export const RegisterProvider = Tool.make({
  name: "comms_register_provider",
  title: "Register a provider's credentials",
  description: "Registers or replaces a provider's credentials (e.g. twilio: accountSid + authToken; sendgrid: apiKey). " +
    "They are checked for shape, verified with a read-only call to the provider, stored encrypted, and used by the " +
    "next action without a restart. Returns the capabilities the provider enables. Requires the master token.",
  input: RegisterProviderInput,
  output: RegisterProviderOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  handler: (input, principal) =>
    Effect.gen(function*() {
      const auth = yield* Authenticator
      yield* auth.requireMaster(principal, "registering a provider")
      const credentials: Record<string, string> = {}
      for (const [key, value] of Object.entries(input.credentials)) {
        // values are secrets: the error names the field, never the value
        if (typeof value !== "string" || value.length > MAX_CREDENTIAL_CHARS) {
          return yield* new InvalidInput({ message: `credentials.${key.slice(0, 64)} must be a string of at most ${MAX_CREDENTIAL_CHARS} characters` })
        }
        credentials[key] = value
      }
      const service = yield* ProviderCredentials
      const audit = yield* AuditLog
      const registered = yield* service.register(input.provider, credentials, input.autoVerify ?? true).pipe(
        Effect.mapError((refusal) =>
          refusal._tag === "Unverified"
            ? new ProviderAuth({ provider: input.provider, message: refusal.message })
            : new InvalidInput({ message: refusal.message })
        )
      )
      yield* audit.append({
        eventType: "admin_action",
        actor: "master",
        target: input.provider,
        details: { action: "provider_registered", status: registered.status }
      })
      return { provider: registered.provider, status: registered.status, capabilities: [...registered.capabilities] }
    })
})
