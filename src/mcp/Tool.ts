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
 * shows, and `run`, which decodes the arguments with the tool's Schema
 * (unknown properties are errors, every problem reported at once),
 * authenticates, runs the handler and encodes its output.
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

/** The message of a ParseError, one line per problem, with the path of each. */
export const describeParseError = (e: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(e)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join(".") : "input"}: ${issue.message}`)
    .join("; ")

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
        const input = yield* decode(args ?? {}).pipe(
          Effect.mapError((e) => new InvalidInput({ message: describeParseError(e) }))
        )
        const principal = yield* authenticate(input.securityToken)
        const output = yield* tool.handler(input, principal)
        // an output that does not match its own Schema is our bug, not the caller's
        return yield* encode(output).pipe(Effect.orDie)
      }).pipe(Effect.withSpan(`tool.${tool.name}`))
  }
}
