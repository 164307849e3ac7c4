import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { AgentId } from "../../schema/Ids.ts"
import { AuditLog } from "../observability/AuditLog.ts"
import { Compliance } from "../policy/Compliance.ts"
import { Cipher } from "../security/Cipher.ts"
import { PublicUrl } from "./PublicUrl.ts"

const Claim = Schema.parseJson(Schema.Struct({ a: AgentId, c: Schema.String }))

/**
 * One-click unsubscribe for outbound email (CAN-SPAM, RFC 8058). Each email
 * carries `List-Unsubscribe: <…/unsubscribe/TOKEN>` and
 * `List-Unsubscribe-Post: List-Unsubscribe=One-Click`; TOKEN is the agent and
 * recipient sealed with AES-256-GCM, so it is opaque (no address in URLs or
 * logs) and cannot be forged. POST opts the recipient out of that agent; GET
 * only shows a confirmation form, because link scanners follow GETs.
 */
export class Unsubscribe extends Effect.Service<Unsubscribe>()("app/http/Unsubscribe", {
  effect: Effect.gen(function*() {
    const cipher = yield* Cipher
    const publicUrl = yield* PublicUrl
    const decode = Schema.decodeUnknownOption(Claim)
    return {
      /** The unsubscribe URL of `contact` for emails of `agentId`. */
      urlFor: (agentId: AgentId, contact: string) =>
        Effect.map(publicUrl.get, (base) => {
          const sealed = cipher.encrypt("unsubscribe", JSON.stringify({ a: agentId, c: contact }))
          return `${base}/unsubscribe/${Buffer.from(sealed).toString("base64url")}`
        }),
      open: (token: string) => {
        if (token.length > 2048) return Option.none()
        const sealed = Buffer.from(token, "base64url").toString("utf8")
        return Option.flatMap(Option.fromNullable(cipher.decrypt("unsubscribe", sealed)), decode)
      }
    } as const
  })
}) {}

const page = (title: string, body: string) =>
  HttpServerResponse.html(
    `<!doctype html><meta charset="utf-8"><title>${title}</title>` +
      `<body style="font-family:sans-serif;max-width:32em;margin:3em auto">${body}</body>`
  )

// a wildcard, not `:token`: the router caps path parameters at 100 characters
export const UnsubscribeRoutes = Layer.mergeAll(
  HttpLayerRouter.add("GET", "/unsubscribe/*", (request) =>
    Effect.gen(function*() {
      const unsubscribe = yield* Unsubscribe
      const token = request.url.split("/").pop()?.split("?")[0] ?? ""
      if (Option.isNone(unsubscribe.open(token))) {
        return yield* page("Invalid link", "<p>This unsubscribe link is not valid.</p>").pipe(
          Effect.map(HttpServerResponse.setStatus(404))
        )
      }
      return yield* page(
        "Unsubscribe",
        `<p>Stop receiving these emails?</p><form method="post"><button type="submit">Unsubscribe</button></form>`
      )
    })),
  HttpLayerRouter.add("POST", "/unsubscribe/*", (request) =>
    Effect.gen(function*() {
      const unsubscribe = yield* Unsubscribe
      const compliance = yield* Compliance
      const audit = yield* AuditLog
      const token = request.url.split("/").pop()?.split("?")[0] ?? ""
      const claim = unsubscribe.open(token)
      if (Option.isNone(claim)) {
        return HttpServerResponse.unsafeJson({ error: { code: "not_found", message: "invalid unsubscribe link" } }, {
          status: 404
        })
      }
      yield* compliance.optOut(claim.value.a, claim.value.c, "email", "list-unsubscribe").pipe(Effect.orDie)
      yield* audit.append({ eventType: "admin_action", actor: "recipient", target: claim.value.a, details: {
        action: "email_unsubscribe"
      } })
      return yield* page("Unsubscribed", "<p>You are unsubscribed. You will not receive further emails from this sender.</p>")
    }))
)
