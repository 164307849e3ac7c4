import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { Llm, type LlmRequest } from "../Llm.ts"

/** The agent's name as its system prompt gives it ("You are Ada, …"), else "your agent". */
const nameFrom = (systemPrompt: string): string => {
  const m = /\byou are ([A-Z][\w'-]*(?: [A-Z][\w'-]*)?)/i.exec(systemPrompt)
  const name = m?.[1]
  return name === undefined || /^(a|an|the)$/i.test(name.split(" ")[0] ?? "") ? "your agent" : name
}

const clip = (text: string, max: number) => {
  const t = text.replace(/\s+/g, " ").trim()
  return t.length <= max ? t : `${t.slice(0, max).trimEnd()}…`
}

/**
 * The sandbox model's answer: deterministic, built only from the system
 * prompt, the call's context and the conversation so far — so a call works
 * out of the box and tests can predict every word.
 */
export const sandboxReply = (req: LlmRequest): string => {
  const callerTurns = req.turns.filter((t) => t.role === "caller")
  const last = callerTurns[callerTurns.length - 1]?.text ?? ""
  const n = callerTurns.length
  const name = nameFrom(req.systemPrompt)
  const about = req.context.trim() === "" ? "" : ` I am calling about ${clip(req.context, 80)}.`
  if (n <= 1) return `This is ${name}.${about} You said: ${clip(last, 60)}. How can I help?`
  return `Turn ${n} from ${name}. I heard: ${clip(last, 60)}.${n === 2 ? about : ""} Anything else?`
}

/** Splits into speakable tokens: each word with its trailing space, as a model streams them. */
export const tokens = (text: string): ReadonlyArray<string> => text.match(/\S+\s*/g) ?? []

/** Sandbox LLM: streams `sandboxReply` word by word, `delayMs` apart (0: all at once). */
export const layer = (options: { readonly delayMs: number }) =>
  Layer.succeed(
    Llm,
    Llm.of({
      provider: "sandbox",
      reply: (req) => {
        const words = Stream.fromIterable(tokens(sandboxReply(req)))
        return options.delayMs <= 0
          ? words
          : Stream.mapEffect(words, (w) => Effect.as(Effect.sleep(options.delayMs), w))
      }
    })
  )
