import * as Effect from "effect/Effect"
import * as JSONSchema from "effect/JSONSchema"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { InvalidInput, type ToolError } from "../../schema/Errors.ts"
import type { Principal } from "../security/Authenticator.ts"
import type { ToolDescriptor } from "./ToolRegistry.ts"

type ObjectJsonSchema = ToolDescriptor["inputSchema"]

/** Authenticates a call, given the `securityToken` argument if the input had one. */
export type Authenticate = (securityToken: string | undefined) => Effect.Effect<Principal, ToolError>

/**
 * A registered MCP tool with its types erased: the descriptor `tools/list`
 * shows, and `run`, which authenticates (with the raw `securityToken`
 * argument, before anything else is looked at), bounds the arguments' depth
 * and size, decodes them with the tool's Schema (unknown properties are
 * errors, every problem reported, clipped), runs the handler and encodes its
 * output.
 */
export interface Tool<R> {
  readonly descriptor: ToolDescriptor
  readonly run: (args: unknown, authenticate: Authenticate) => Effect.Effect<unknown, ToolError, R>
}

/** The JSON Schema of an Effect Schema, as MCP clients accept it at the top level of a tool. */
export const toolJsonSchema = <A, I>(schema: Schema.Schema<A, I>): ObjectJsonSchema => {
  const generated: object = JSONSchema.make(schema, { target: "jsonSchema2020-12" })
  const { $schema: _ignored, ...rest } = generated as { readonly [k: string]: unknown }
  if (rest["type"] !== "object" || "$ref" in rest || "anyOf" in rest) {
    throw new Error("a tool schema must be a plain object schema at the top level")
  }
  return { ...rest, type: "object" }
}

/** Limits on what an error message may carry back: a problem's text, how many problems, the whole message. */
const MAX_ISSUE_CHARS = 200
const MAX_ISSUES = 10
const MAX_MESSAGE_CHARS = 2000

const clip = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`)

/**
 * The message of a ParseError, one line per problem, with the path of each.
 * Bounded: a union error repeats the input once per member, so every problem
 * is clipped, at most 10 are listed, and the whole message is at most 2,000
 * characters whatever the input was.
 */
export const describeParseError = (e: ParseResult.ParseError): string => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(e)
  const lines = issues.slice(0, MAX_ISSUES).map((issue) =>
    clip(`${issue.path.length > 0 ? issue.path.map(String).join(".") : "input"}: ${issue.message}`, MAX_ISSUE_CHARS)
  )
  if (issues.length > MAX_ISSUES) lines.push(`…and ${issues.length - MAX_ISSUES} more problems`)
  return clip(lines.join("; "), MAX_MESSAGE_CHARS)
}

/** Deepest nesting of objects/arrays accepted in tool arguments. */
export const MAX_ARGUMENT_DEPTH = 32
/** Most values (objects, arrays, primitives) accepted in one call's arguments. */
export const MAX_ARGUMENT_NODES = 20_000

/**
 * Checks the shape of raw arguments before any decoding, without recursion
 * (a 10,000-deep tree must not overflow the stack): depth and number of
 * values are bounded. Returns the problem, or undefined when acceptable.
 */
export const argumentShapeProblem = (args: unknown): string | undefined => {
  const stack: Array<readonly [unknown, number]> = [[args, 1]]
  let nodes = 0
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!
    nodes++
    if (nodes > MAX_ARGUMENT_NODES) return `arguments have more than ${MAX_ARGUMENT_NODES} values`
    if (typeof value !== "object" || value === null) continue
    if (depth > MAX_ARGUMENT_DEPTH) return `arguments are nested deeper than ${MAX_ARGUMENT_DEPTH} levels`
    const children: ReadonlyArray<unknown> = Array.isArray(value) ? value : Object.values(value)
    for (const child of children) stack.push([child, depth + 1])
  }
  return undefined
}

/** The `securityToken` argument, read from the raw input without decoding it (own string property only). */
const rawSecurityToken = (args: unknown): string | undefined => {
  if (typeof args !== "object" || args === null || Array.isArray(args)) return undefined
  if (!Object.prototype.hasOwnProperty.call(args, "securityToken")) return undefined
  const token: unknown = (args as { readonly securityToken?: unknown }).securityToken
  return typeof token === "string" ? token : undefined
}

export const make = <I extends { readonly securityToken?: string | undefined }, IE, O, OE, R>(tool: {
  readonly name: string
  readonly title: string
  readonly description: string
  readonly input: Schema.Schema<I, IE>
  readonly output: Schema.Schema<O, OE>
  readonly annotations?: ToolDescriptor["annotations"]
  readonly handler: (input: I, principal: Principal) => Effect.Effect<O, ToolError, R>
}): Tool<R> => {
  const decode = Schema.decodeUnknown(tool.input, { onExcessProperty: "error", errors: "all" })
  const encode = Schema.encode(tool.output)
  return {
    descriptor: {
      name: tool.name,
      title: tool.title,
      description: tool.description,
      inputSchema: toolJsonSchema(tool.input),
      outputSchema: toolJsonSchema(tool.output),
      ...(tool.annotations !== undefined ? { annotations: tool.annotations } : {})
    },
    run: (args, authenticate) =>
      Effect.gen(function*() {
        // Authenticate first: an anonymous caller gets a short `unauthorized`,
        // whatever it sent, and costs no decoding.
        const principal = yield* authenticate(rawSecurityToken(args))
        const raw = args ?? {}
        const shape = argumentShapeProblem(raw)
        if (shape !== undefined) return yield* new InvalidInput({ message: shape })
        const input = yield* decode(raw).pipe(
          Effect.mapError((e) => new InvalidInput({ message: describeParseError(e) }))
        )
        const output = yield* tool.handler(input, principal)
        // an output that does not match its own Schema is our bug, not the caller's
        return yield* encode(output).pipe(Effect.orDie)
      }).pipe(Effect.withSpan(`tool.${tool.name}`))
  }
}
