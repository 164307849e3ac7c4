/**
 * The OpenAI-compatible LLM adapter: chat completions (`POST {base}/chat/completions`,
 * `stream: true`) through @effect/ai's `LanguageModel` and @effect/ai-openai's
 * `OpenAiClient.streamRequest` (SSE decoding, auth, interruption = request abort).
 * @effect/ai-openai 0.41's own model speaks the Responses API, which many
 * OpenAI-compatible servers (vLLM, Ollama, LiteLLM, local emulators) lack, so
 * this file is a small `LanguageModel.make` provider (llm-and-telnyx-notes.md §3A).
 */
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import * as OpenAiClient from "@effect/ai-openai/OpenAiClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { Llm, type LlmRequest } from "../Llm.ts"
import { ProviderError } from "../ProviderError.ts"

/** One SSE chunk of a streamed chat completion (only what we read). */
const ChatChunk = Schema.Struct({
  choices: Schema.Array(Schema.Struct({
    delta: Schema.optional(Schema.Struct({ content: Schema.optional(Schema.NullOr(Schema.String)) })),
    finish_reason: Schema.optional(Schema.NullOr(Schema.String))
  })),
  usage: Schema.optional(Schema.NullOr(Schema.Struct({
    prompt_tokens: Schema.optional(Schema.Number),
    completion_tokens: Schema.optional(Schema.Number),
    total_tokens: Schema.optional(Schema.Number)
  })))
})

type ChatMessage = { readonly role: "system" | "user" | "assistant"; readonly content: string }

const textOf = (content: ReadonlyArray<{ readonly type: string }>): string =>
  content.map((p) => (p.type === "text" ? (p as Prompt.TextPart).text : "")).join("")

/** A Prompt (system + user/assistant messages) → chat-completions messages. */
const toMessages = (prompt: Prompt.Prompt): Array<ChatMessage> =>
  prompt.content.flatMap((m): Array<ChatMessage> => {
    switch (m.role) {
      case "system":
        return [{ role: "system", content: m.content }]
      case "user":
        return [{ role: "user", content: textOf(m.content) }]
      case "assistant":
        return [{ role: "assistant", content: textOf(m.content) }]
      case "tool":
        return []
    }
  })

const FINISH: Readonly<Record<string, Response.FinishPartEncoded["reason"]>> = {
  stop: "stop",
  length: "length",
  tool_calls: "tool-calls",
  content_filter: "content-filter"
}

/** A `LanguageModel` over an OpenAI-compatible chat-completions endpoint. */
export const makeChatModel = (model: string) =>
  Effect.gen(function*() {
    const client = yield* OpenAiClient.OpenAiClient
    return yield* LanguageModel.make({
      generateText: () =>
        Effect.fail(new AiError.UnknownError({ module: "OpenAiChatLlm", method: "generateText", description: "streaming only" })),
      streamText: (options) =>
        Stream.suspend(() => {
          const id = "text"
          let started = false
          return client.streamRequest(
            HttpClientRequest.post("/chat/completions", {
              body: HttpBody.unsafeJson({ model, stream: true, messages: toMessages(options.prompt) })
            }),
            ChatChunk
          ).pipe(
            Stream.mapConcat((chunk): Array<Response.StreamPartEncoded> => {
              const parts: Array<Response.StreamPartEncoded> = []
              for (const choice of chunk.choices) {
                const delta = choice.delta?.content
                if (typeof delta === "string" && delta.length > 0) {
                  if (!started) {
                    started = true
                    parts.push({ type: "text-start", id })
                  }
                  parts.push({ type: "text-delta", id, delta })
                }
                if (typeof choice.finish_reason === "string") {
                  if (started) parts.push({ type: "text-end", id })
                  parts.push({
                    type: "finish",
                    reason: FINISH[choice.finish_reason] ?? "other",
                    usage: {
                      inputTokens: chunk.usage?.prompt_tokens,
                      outputTokens: chunk.usage?.completion_tokens,
                      totalTokens: chunk.usage?.total_tokens
                    }
                  })
                }
              }
              return parts
            }),
            // a server that keeps the connection open after the last chunk still ends the turn
            Stream.takeUntil((part) => part.type === "finish")
          )
        })
    })
  })

/** The conversation as chat messages: system prompt + call context, then the turns. */
export const promptOf = (req: LlmRequest): Array<ChatMessage> => [
  {
    role: "system",
    content: req.context.trim() === ""
      ? req.systemPrompt
      : `${req.systemPrompt}\n\nContext of this phone call: ${req.context}`
  },
  ...req.turns.map((t): ChatMessage => ({ role: t.role === "caller" ? "user" : "assistant", content: t.text }))
]

export interface OpenAiLlmOptions {
  /** Base URL including the version path, e.g. https://api.openai.com/v1 or http://127.0.0.1:PORT/v1. */
  readonly baseUrl: string
  readonly apiKey: Redacted.Redacted | undefined
  readonly model: string
}

/** The `Llm` port over an OpenAI-compatible server. Needs an HttpClient. */
export const layer = (options: OpenAiLlmOptions): Layer.Layer<Llm, never, HttpClient.HttpClient> =>
  Layer.effect(
    Llm,
    Effect.gen(function*() {
      const model = yield* makeChatModel(options.model)
      return Llm.of({
        provider: "openai",
        reply: (req) =>
          model.streamText({ prompt: promptOf(req) }).pipe(
            Stream.filterMap((part) => (part.type === "text-delta" ? Option.some(part.delta) : Option.none())),
            // never the raw AiError: serialized it carries the Authorization header
            Stream.mapError((e) => new ProviderError({ provider: "openai", operation: "chat completion", reason: e._tag }))
          )
      })
    })
  ).pipe(Layer.provide(OpenAiClient.layer({ apiUrl: options.baseUrl, apiKey: options.apiKey })))
