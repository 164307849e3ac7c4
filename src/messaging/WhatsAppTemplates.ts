import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { InvalidInput } from "../../schema/Errors.ts"

const Template = Schema.Struct({ id: Schema.String, body: Schema.String, language: Schema.String, status: Schema.String })
export type Template = typeof Template.Type

/** Placeholders: `{{1}}`, `{{2}}`… (Meta's style) or `{{name}}`. */
const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g

export const render = (body: string, vars: Readonly<Record<string, string>>): Either.Either<string, string> => {
  const missing = new Set<string>()
  const text = body.replace(PLACEHOLDER, (_, name: string) => {
    // own properties only: `{{constructor}}` must not reach Object.prototype
    const v = Object.prototype.hasOwnProperty.call(vars, name) ? vars[name] : undefined
    if (typeof v !== "string") missing.add(name)
    return typeof v === "string" ? v : ""
  })
  return missing.size > 0 ? Either.left([...missing].join(", ")) : Either.right(text)
}

/**
 * The WhatsApp template registry. Outside the 24-hour customer-service
 * window only approved templates may be sent; in the sandbox every registered
 * template is approved at once (there is no Meta review).
 */
export class WhatsAppTemplates extends Effect.Service<WhatsAppTemplates>()("app/messaging/WhatsAppTemplates", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const decode = Schema.decodeUnknown(Schema.Array(Template))
    const find = (id: string) =>
      sql`SELECT id, body, language, status FROM whatsapp_templates WHERE id = ${id}`.pipe(
        Effect.flatMap(decode),
        Effect.map((rows) => Option.fromNullable(rows[0])),
        Effect.orDie
      )
    return {
      find,
      list: sql`SELECT id, body, language, status FROM whatsapp_templates ORDER BY id`.pipe(
        Effect.flatMap(decode),
        Effect.orDie
      ),
      register: (t: { readonly id: string; readonly body: string; readonly language: string }) =>
        sql`INSERT INTO whatsapp_templates ${sql.insert({ ...t, status: "approved" })}
            ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body, language = EXCLUDED.language`.pipe(
          Effect.as({ ...t, status: "approved" }),
          Effect.orDie
        ),
      /** The approved template's text with its variables filled in. */
      renderApproved: (id: string, vars: Readonly<Record<string, string>>) =>
        Effect.gen(function*() {
          const t = yield* find(id)
          if (Option.isNone(t) || t.value.status !== "approved") {
            return yield* new InvalidInput({ message: `templateId: no approved WhatsApp template "${id}"` })
          }
          const out = render(t.value.body, vars)
          if (out._tag === "Left") {
            return yield* new InvalidInput({ message: `templateVars: missing ${out.left} for template "${id}"` })
          }
          return out.right
        })
    } as const
  })
}) {}
