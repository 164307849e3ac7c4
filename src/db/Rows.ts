/**
 * Column schemas shared by every row Schema, so that one decode works on both drivers:
 *
 * - `int8` / `bigserial` / `count(*)` / `numeric`: a number from PGlite, a string from `pg`.
 * - `timestamptz`: a `Date` from both drivers, a string when it comes through JSON.
 * - `jsonb`: parsed by both drivers, but a string when a driver does not parse (or the column was
 *   written as JSON text into a text column).
 *
 * Use these in row Schemas for `SqlSchema.findAll/findOne/single/void` repositories instead of
 * defining the unions again.
 *
 * @since 0.3.0
 */
import * as Schema from "effect/Schema"

/**
 * A numeric column: a number (PGlite) or its decimal string (`pg`).
 *
 * @since 0.3.0
 */
export const Num = Schema.Union(Schema.Number, Schema.NumberFromString)

/**
 * A `timestamptz` column: a `Date`, or its ISO string.
 *
 * @since 0.3.0
 */
export const Timestamp = Schema.Union(Schema.DateFromSelf, Schema.DateFromString)

/**
 * A json(b) column holding `schema`: parsed by the driver, or JSON text.
 *
 * @since 0.3.0
 */
export const JsonColumn = <A, I, R>(schema: Schema.Schema<A, I, R>) => Schema.Union(schema, Schema.parseJson(schema))

/**
 * A `count(*) AS n` result row.
 *
 * @since 0.3.0
 */
export const CountRow = Schema.Struct({ n: Num })

/**
 * A `RETURNING id` row with a text/uuid id.
 *
 * @since 0.3.0
 */
export const IdRow = Schema.Struct({ id: Schema.String })
