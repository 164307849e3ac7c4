import * as Context from "effect/Context"
import type * as Stream from "effect/Stream"
import type { ProviderError } from "./ProviderError.ts"

/** One turn of a live conversation: what the caller said, or what the agent said (as far as it was heard). */
export interface ConversationTurn {
  readonly role: "caller" | "agent"
  readonly text: string
}

/** What a model needs for the agent's next utterance: system prompt + the call's context + the turns so far. */
export interface LlmRequest {
  readonly agentId: string
  readonly callId: string
  readonly systemPrompt: string
  /** Why the call happens (the `context` of comms_make_call), "" when none. */
  readonly context: string
  /** Ends with the caller's latest turn. */
  readonly turns: ReadonlyArray<ConversationTurn>
}

/**
 * Port: the language model that speaks for the agent on a live call. `reply`
 * streams text deltas as the model produces them; interrupting the stream's
 * fiber stops the generation (and its network request) at once.
 * Adapters: sandbox (deterministic), openai-compatible chat completions, the orchestrator callback.
 */
export class Llm extends Context.Tag("app/providers/Llm")<Llm, {
  readonly provider: string
  readonly reply: (request: LlmRequest) => Stream.Stream<string, ProviderError>
}>() {}
