/**
 * The `orchestrator` LLM slot: each turn of a live call is POSTed to the
 * agent's orchestrator (AGENTOS_CALLBACK_URL, `{agentId}` substituted), signed
 * with Standard Webhooks headers like every callback, and the reply streams
 * back as it is produced — Server-Sent Events (`data: {"token":"…"}` or
 * `data: text` lines, `data: [DONE]` optional) or a chunked plain-text body.
 * Interrupting the stream aborts the request.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { randomUUID } from "node:crypto"
import { sign } from "../../webhooks/StandardWebhooks.ts"
import { Llm } from "../Llm.ts"
import { ProviderError } from "../ProviderError.ts"

const fail = (reason: string, cause?: unknown) =>
  new ProviderError({ provider: "orchestrator", operation: "voice turn", reason, cause })

/** One SSE `data:` payload → the text to speak (None for `[DONE]` and non-text events). */
export const sseToken = (data: string): Option.Option<string> => {
  if (data === "[DONE]") return Option.none()
  if (data.startsWith("{")) {
    try {
      const parsed: unknown = JSON.parse(data)
      if (typeof parsed === "object" && parsed !== null) {
        const o = parsed as Record<string, unknown>
        const t = o["token"] ?? o["text"] ?? o["delta"]
        return typeof t === "string" ? Option.some(t) : Option.none()
      }
    } catch {
      return Option.some(data)
    }
  }
  return Option.some(data)
}

/** SSE lines → `data:` payloads (multi-line data joined with "\n", per the SSE spec). */
const sseData = (lines: Stream.Stream<string, ProviderError>) =>
  Stream.mapAccum(lines, [] as Array<string>, (acc, line): [Array<string>, Option.Option<string>] => {
    if (line === "") return acc.length === 0 ? [acc, Option.none()] : [[], Option.some(acc.join("\n"))]
    if (line.startsWith("data:")) return [[...acc, line.slice(line.startsWith("data: ") ? 6 : 5)], Option.none()]
    return [acc, Option.none()]
  }).pipe(Stream.filterMap((x) => x))

export interface OrchestratorLlmOptions {
  readonly callbackUrl: string
  readonly secret: Redacted.Redacted<string>
}

export const layer = (options: OrchestratorLlmOptions) =>
  Layer.effect(
    Llm,
    Effect.gen(function*() {
      const http = yield* HttpClient.HttpClient
      return Llm.of({
        provider: "orchestrator",
        reply: (req) =>
          Stream.unwrapScoped(Effect.gen(function*() {
            const body = JSON.stringify({
              type: "call.turn",
              agentId: req.agentId,
              callId: req.callId,
              context: req.context,
              turns: req.turns
            })
            const url = options.callbackUrl.replaceAll("{agentId}", encodeURIComponent(req.agentId))
            const headers = sign({ secret: options.secret, id: `turn_${randomUUID()}`, timestamp: Date.now() / 1000, body })
            const response = yield* http.execute(
              HttpClientRequest.post(url).pipe(
                HttpClientRequest.setHeaders({ ...headers, accept: "text/event-stream, text/plain" }),
                HttpClientRequest.bodyText(body, "application/json")
              )
            ).pipe(Effect.mapError((e) => fail("orchestrator unreachable", e)))
            if (response.status < 200 || response.status >= 300) {
              return yield* fail(`orchestrator answered ${response.status}`)
            }
            const text = response.stream.pipe(
              Stream.mapError((e) => fail("reply stream broken", e)),
              Stream.decodeText()
            )
            const isSse = (response.headers["content-type"] ?? "").includes("text/event-stream")
            return isSse
              ? sseData(Stream.splitLines(text)).pipe(Stream.filterMap(sseToken))
              : Stream.filter(text, (t) => t.length > 0)
          }))
      })
    })
  )
