import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import { render } from "../../src/messaging/WhatsAppTemplates.ts"

describe("WhatsApp template placeholders", () => {
  it("resolve own properties only, never through the prototype", () => {
    for (const name of ["constructor", "toString", "__proto__", "hasOwnProperty", "valueOf"]) {
      const rendered = render(`hi {{${name}}}`, {})
      expect(Either.isLeft(rendered), name).toBe(true)
      expect(Either.isLeft(rendered) && rendered.left).toBe(name)
    }
    expect(render("{{1}} and {{name}}", { "1": "one", name: "Dana" })).toEqual(Either.right("one and Dana"))
    // a variable object without a prototype works too
    const vars: Record<string, string> = Object.create(null)
    vars["constructor"] = "ok"
    expect(render("{{constructor}}", vars)).toEqual(Either.right("ok"))
  })
})
