/**
 * `node --import tsx scripts/bench/contentFilter.ts`: microseconds per outbound
 * content check for 160- and 1,600-character messages. Clean messages are the
 * worst case (every rule and the whole word list run); a blocked one stops at
 * the first hit. Prints one line per case: the pure classifier, then the
 * `ContentFilter.check` Effect run synchronously.
 *
 *   BENCH_ITERATIONS  checks per case (default 20000)
 */
import * as Effect from "effect/Effect"
import { ContentFilter, makeClassifier } from "../../src/policy/ContentFilter.ts"

const iterations = Number(process.env["BENCH_ITERATIONS"] ?? "20000")
if (!Number.isInteger(iterations) || iterations < 1) throw new Error("BENCH_ITERATIONS must be a positive integer")

const SENTENCES = [
  "Hi Alex, your appointment with Dr. Patel is confirmed for Tuesday at 3:30pm. ",
  "Reply C to confirm or R to reschedule; call 555-0142 if you need help. ",
  "Your order #48213 has shipped and should arrive by Friday. ",
  "We will kill the bug in the next release and shoot you an email when it is live. ",
  "Thanks for your patience; your assessment is with our assistant, and enjoy 10% off cocktails in our Sussex lounge! "
]

/** Clean text of exactly `length` characters, built from ordinary sentences. */
const cleanText = (length: number): string => {
  let s = ""
  for (let i = 0; s.length < length; i++) s += SENTENCES[i % SENTENCES.length]
  return s.slice(0, length)
}

/** Clean text with one threat in the last sentence. */
const blockedText = (length: number): string => `${cleanText(length - 30)} I know where you live, Alex.`.slice(0, length)

const measure = (label: string, run: () => unknown): void => {
  for (let i = 0; i < Math.min(2000, iterations); i++) run() // warm-up
  const start = process.hrtime.bigint()
  for (let i = 0; i < iterations; i++) run()
  const micros = Number(process.hrtime.bigint() - start) / 1000 / iterations
  console.log(`${label.padEnd(44)} ${micros.toFixed(2).padStart(8)} µs/check`)
}

const classify = makeClassifier()
const filter = Effect.runSync(Effect.provide(ContentFilter, ContentFilter.Default))

console.log(`content filter, ${iterations} checks per case`)
for (const length of [160, 1600]) {
  const clean = cleanText(length)
  const blocked = blockedText(length)
  if (!classify(clean).allowed || classify(blocked).allowed) throw new Error("bench texts are not classified as expected")
  measure(`${length} chars, clean,   classifier`, () => classify(clean))
  measure(`${length} chars, clean,   ContentFilter.check`, () => Effect.runSync(filter.check(clean)))
  measure(`${length} chars, blocked, classifier`, () => classify(blocked))
  measure(`${length} chars, blocked, ContentFilter.check`, () => Effect.runSync(filter.check(blocked)))
}
