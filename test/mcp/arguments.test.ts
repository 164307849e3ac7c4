/**
 * Tool arguments are handled in the order that costs an anonymous caller
 * nothing: authenticate, bound depth and size, then decode; errors echo at
 * most a bounded slice of the input, and no input makes a tool crash.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import fc from "fast-check"
import { TEST_MASTER_TOKEN, TestDomain } from "../../layers/Test.ts"
import { argumentShapeProblem, MAX_ARGUMENT_DEPTH } from "../../src/mcp/Tool.ts"
import { ToolRegistry } from "../../src/mcp/ToolRegistry.ts"

const anonymous = { bearer: Option.none(), clientIp: "198.51.100.7" }
const master = { bearer: Option.some(Redacted.make(TEST_MASTER_TOKEN)), clientIp: "198.51.100.8" }

const textOf = (result: CallToolResult): string => {
  const first = result.content[0]
  return first?.type === "text" ? first.text : ""
}
const codeOf = (result: CallToolResult): string | undefined => {
  const parsed: unknown = JSON.parse(textOf(result))
  return typeof parsed === "object" && parsed !== null && "error" in parsed &&
      typeof parsed.error === "object" && parsed.error !== null && "code" in parsed.error
    ? String(parsed.error.code)
    : undefined
}

/** `{ a: { a: … } }`, `depth` levels, built without recursion. */
const nested = (depth: number): unknown => {
  let value: unknown = "leaf"
  for (let i = 0; i < depth; i++) value = { a: value }
  return value
}

describe("argument shape", () => {
  it("is checked without recursion, whatever the depth", () => {
    expect(argumentShapeProblem(nested(100_000))).toMatch(/nested deeper/)
    expect(argumentShapeProblem(nested(MAX_ARGUMENT_DEPTH - 1))).toBeUndefined()
    expect(argumentShapeProblem({ list: Array.from({ length: 30_000 }, () => 1) })).toMatch(/more than/)
  })
})

layer(TestDomain(), { timeout: 60_000 })("tool arguments through the registry", (it) => {
  it.effect("a 1 MB call without a token gets a short unauthorized", () =>
    Effect.gen(function*() {
      const registry = yield* ToolRegistry
      const big = "x".repeat(1_000_000)
      for (const name of ["comms_send_message", "comms_provision_channels", "comms_get_messages"]) {
        const result = yield* registry.call(name, { agentId: big, to: big, body: big, channel: big }, anonymous)
        expect(result.isError).toBe(true)
        expect(codeOf(result)).toBe("unauthorized")
        expect(textOf(result).length).toBeLessThan(300)
      }
    }))

  it.effect("with a token, a large wrong value in a union field gets a bounded invalid_input", () =>
    Effect.gen(function*() {
      const registry = yield* ToolRegistry
      const big = "y".repeat(500_000)
      const result = yield* registry.call("comms_send_message", { agentId: "a1", channel: big, to: big, body: big }, master)
      expect(codeOf(result)).toBe("invalid_input")
      expect(textOf(result).length).toBeLessThan(2_500)
    }))

  it.effect("depth 10,000 gets invalid_input, never internal_error", () =>
    Effect.gen(function*() {
      const registry = yield* ToolRegistry
      for (const name of registry.tools.map((t) => t.name)) {
        const result = yield* registry.call(name, { agentId: "a1", extra: nested(10_000) }, master)
        expect(codeOf(result)).toBe("invalid_input")
      }
      // a deep tree inside a token-carrying call made without a bearer: still no crash
      const viaArg = yield* registry.call("comms_send_message", { securityToken: TEST_MASTER_TOKEN, to: nested(10_000) }, anonymous)
      expect(codeOf(viaArg)).toBe("invalid_input")
    }))

  it.effect("generated argument trees never produce internal_error", () =>
    Effect.gen(function*() {
      const registry = yield* ToolRegistry
      const names = registry.tools.map((t) => t.name)
      const tree = fc.letrec((tie) => ({
        node: fc.oneof(
          { depthSize: "small", withCrossShrink: true },
          fc.jsonValue({ maxDepth: 2 }),
          fc.array(tie("node"), { maxLength: 4 }),
          fc.dictionary(fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom("__proto__", "constructor", "agentId", "to", "channel", "body")), tie("node"), { maxKeys: 5 })
        )
      })).node
      const args = fc.oneof(
        tree,
        fc.record({ agentId: tree, to: tree, channel: tree, body: tree }, { requiredKeys: [] }),
        fc.constantFrom(null, [], "", 0, true)
      )
      const samples = fc.sample(fc.tuple(fc.constantFrom(...names), args, fc.boolean()), { numRuns: 400, seed: 11 })
      const codes = new Set<string | undefined>()
      for (const [name, input, withToken] of samples) {
        const result = yield* registry.call(name, input, withToken ? master : anonymous)
        const code = result.isError === true ? codeOf(result) : "ok"
        codes.add(code)
        if (code === "internal_error") expect.fail(`internal_error for ${name} with ${JSON.stringify(input).slice(0, 200)}`)
      }
      // the generator reached past authentication into decoding
      expect(codes.has("invalid_input")).toBe(true)
      expect(codes.has("unauthorized")).toBe(true)
    }))
})
