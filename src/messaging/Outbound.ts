import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberSet from "effect/FiberSet"
import * as Option from "effect/Option"
import type * as Schema from "effect/Schema"
import type { MediaItem, MessageChannel } from "../../schema/Domain.ts"
import { ContentBlocked, InvalidInput, NotFound, ProviderFailure, WhatsAppTemplateRequired } from "../../schema/Errors.ts"
import type { AgentId } from "../../schema/Ids.ts"
import type { SendMessageOutput } from "../../schema/tools/SendMessage.ts"
import type { AgentRecord, AgentsRepo } from "../agents/AgentsRepo.ts"
import type { AgentState } from "../agents/AgentState.ts"
import { countSent } from "../agents/Counters.ts"
import { type Background, done, failed, type Step, suspend } from "../agents/Step.ts"
import type { SendMessage } from "../agents/Commands.ts"
import { OutboundUrlPolicy } from "../http/OutboundUrlPolicy.ts"
import { PublicUrl } from "../http/PublicUrl.ts"
import { Unsubscribe } from "../http/Unsubscribe.ts"
import { AppConfig } from "../config/AppConfig.ts"
import { AuditLog } from "../observability/AuditLog.ts"
import { actionTypeFor, type Admission, AgentGuard, type OutboundAction } from "../policy/AgentGuard.ts"
import { ContentFilter } from "../policy/ContentFilter.ts"
import { EmailProvider } from "../providers/EmailProvider.ts"
import { ProviderError, providerToolError } from "../providers/ProviderError.ts"
import { Telephony } from "../providers/Telephony.ts"
import { AnomalyDetector } from "../security/AnomalyDetector.ts"
import { MessagesRepo } from "./MessagesRepo.ts"
import { addressOn, resolveRecipient } from "./Recipients.ts"
import { WhatsAppTemplates } from "./WhatsAppTemplates.ts"

const WINDOW_MS = 24 * 60 * 60 * 1000

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  png: "image/png",
  gif: "image/gif",
  webp: "image/webp",
  mp3: "audio/mpeg",
  ogg: "audio/ogg",
  wav: "audio/wav",
  amr: "audio/amr",
  mp4: "video/mp4",
  "3gp": "video/3gpp",
  pdf: "application/pdf",
  txt: "text/plain",
  csv: "text/csv",
  vcf: "text/vcard"
}
const BY_KIND: Readonly<Record<string, string>> = {
  image: "image/jpeg",
  audio: "audio/mpeg",
  video: "video/mp4",
  document: "application/pdf"
}

/** The content type of an attachment: from its file extension, else from the declared media kind. */
export const contentTypeOf = (url: string, kind: string | undefined): string => {
  let ext = ""
  try {
    ext = new URL(url).pathname.split(".").pop()?.toLowerCase() ?? ""
  } catch {
    ext = ""
  }
  return CONTENT_TYPES[ext] ?? (kind !== undefined ? BY_KIND[kind] : undefined) ?? "application/octet-stream"
}

const channelAddress = (agent: AgentRecord, channel: MessageChannel) => {
  const address = addressOn(agent, channel)
  return address === null
    ? Effect.fail(new InvalidInput({ message: `this agent has no active ${channel} channel` }))
    : Effect.succeed(address)
}

/** How long the provider may take to accept one message before its outcome is taken as unknown. */
const PROVIDER_TIMEOUT = Duration.seconds(30)

export type SendMessageFailure = Schema.Schema.Type<typeof SendMessage.failure>

/** What a provider accepted. */
interface Sent {
  readonly providerMessageId: string
  readonly status: "queued" | "sent"
  /** The provider that carried it, when the router failed over from the configured one. */
  readonly provider?: string | undefined
}

/** An admitted send, between the admission (inside the actor) and the provider's answer (outside). */
interface Admitted {
  readonly agent: AgentRecord
  readonly cmd: SendMessage
  readonly from: string
  readonly to: string
  readonly toAgentId: Option.Option<AgentId>
  readonly body: string
  readonly subject: string
  readonly media: ReadonlyArray<MediaItem>
  readonly provider: string
  readonly action: OutboundAction
  readonly admission: Admission
  /** The provider call, run outside the actor's mailbox. */
  readonly deliver: Effect.Effect<Sent, ProviderError>
}

/**
 * The outbound message path of an agent, in three steps so that the agent's mailbox never waits
 * on a vendor:
 *   1. inside the actor — recipient, WhatsApp window (actor state), content filter, then the guard
 *      checks and reserves (`admit`);
 *   2. outside — the provider call, in a fiber the runtime owns, with a timeout; sends to one
 *      recipient keep their order (one lane per recipient);
 *   3. inside again — settle the reservation, write the metadata row, update the counters.
 * Route duplication (SMS mirror, email BCC) never blocks or fails the primary send.
 */
export class Outbound extends Effect.Service<Outbound>()("app/messaging/Outbound", {
  scoped: Effect.gen(function*() {
    const filter = yield* ContentFilter
    const messages = yield* MessagesRepo
    const templates = yield* WhatsAppTemplates
    const telephony = yield* Telephony
    const email = yield* EmailProvider
    const publicUrl = yield* PublicUrl
    const audit = yield* AuditLog
    // route duplication goes to URLs agents' owners gave: the outbound URL policy guards every fetch
    const http = (yield* OutboundUrlPolicy).client.pipe(HttpClient.filterStatusOk)
    const anomalies = yield* AnomalyDetector
    const mirrors = yield* FiberSet.make()
    const guard = yield* AgentGuard
    const unsubscribe = yield* Unsubscribe
    const config = yield* AppConfig
    const context = yield* Effect.context<AgentsRepo>()

    const mirror = (url: string, payload: Record<string, unknown>) =>
      FiberSet.run(
        mirrors,
        http.execute(HttpClientRequest.post(url).pipe(HttpClientRequest.bodyUnsafeJson(payload))).pipe(
          Effect.scoped,
          Effect.timeout("10 seconds"),
          Effect.catchAllCause(() => Effect.logWarning("route duplication mirror not accepted"))
        )
      )

    const afterSend = <A>(what: string, fallback: A) => <R>(effect: Effect.Effect<A, never, R>) =>
      Effect.catchAllCause(effect, (cause) =>
        Effect.as(
          Effect.logError(`sent, but ${what}`).pipe(Effect.annotateLogs({ defect: Cause.isDie(cause) })),
          fallback
        ))

    /** The provider call, bounded: a provider that does not answer in time leaves the outcome unknown. */
    const bounded = (effect: Effect.Effect<Sent, ProviderError>, provider: string) =>
      effect.pipe(
        Effect.timeoutFail({
          duration: PROVIDER_TIMEOUT,
          onTimeout: () => new ProviderError({ provider, operation: "send", reason: "timed out", kind: "unknown_outcome" })
        })
      )

    /** The WhatsApp body: a rendered approved template, or free text inside the contact's 24-hour window. */
    const whatsappBody = (state: AgentState, cmd: SendMessage, to: string, now: number) =>
      Effect.gen(function*() {
        if (cmd.templateId !== undefined) return yield* templates.renderApproved(cmd.templateId, cmd.templateVars ?? {})
        const last = state.whatsappWindow.get(to)
        if (last === undefined || now - last >= WINDOW_MS) {
          return yield* new WhatsAppTemplateRequired({
            message: "outside the 24-hour WhatsApp window: send an approved template (templateId + templateVars)"
          })
        }
        return cmd.body
      })

    const screenContent = (agent: AgentRecord, channel: MessageChannel, text: string) =>
      Effect.gen(function*() {
        const verdict = yield* filter.check(text)
        if (verdict.allowed) return
        yield* anomalies.record(agent.agentId, { _tag: "content_filter_hit" })
        yield* audit.append({
          eventType: "content_blocked",
          actor: agent.agentId,
          target: agent.agentId,
          details: { channel, category: verdict.category }
        })
        yield* Effect.logWarning("outbound message blocked by the content filter").pipe(
          Effect.annotateLogs({ agentId: agent.agentId, category: verdict.category, securityEvent: "content_blocked" })
        )
        return yield* new ContentBlocked({
          message: `message refused by the content filter (${verdict.category}): ${verdict.reason}`,
          category: verdict.category
        })
      })

    /** The provider request for an email (CAN-SPAM footer and one-click unsubscribe to people). */
    const emailDelivery = (agent: AgentRecord, m: Omit<Admitted, "deliver" | "admission" | "action">) =>
      Effect.gen(function*() {
        // mail between two of our agents reaches no consumer and goes as written
        const link = Option.isNone(m.toAgentId)
          ? Option.some(yield* unsubscribe.urlFor(agent.agentId, m.to))
          : Option.none<string>()
        return bounded(
          email.send({
            agentId: agent.agentId,
            from: m.from,
            fromName: agent.displayName,
            to: m.to,
            bcc: agent.routeDuplication?.email?.bccTo,
            subject: m.subject,
            text: Option.match(link, {
              onNone: () => m.body,
              onSome: (url) => `${m.body}\n\n--\n${config.physicalAddress}\nUnsubscribe: ${url}`
            }),
            attachments: m.media,
            headers: Option.match(link, {
              onNone: () => ({}),
              onSome: (url) => ({ "List-Unsubscribe": `<${url}>`, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click" })
            })
          }),
          email.provider
        )
      })

    const phoneDelivery = (
      agentId: AgentId,
      channel: "sms" | "whatsapp",
      from: string,
      to: string,
      body: string,
      media: ReadonlyArray<MediaItem>,
      template?: { readonly id: string; readonly variables: Readonly<Record<string, string>> }
    ) =>
      Effect.map(publicUrl.webhook(agentId, "message-status"), (statusCallbackUrl) =>
        bounded(
          telephony.sendMessage({
            agentId,
            channel,
            from,
            to,
            body,
            media,
            statusCallbackUrl,
            ...(template !== undefined ? { template } : {})
          }),
          telephony.provider
        ))

    /** Step 1 (inside the actor): everything up to and including the guard's reservation. */
    const admit = (state: AgentState, cmd: SendMessage) =>
      Effect.gen(function*() {
        if (Option.isNone(state.record)) {
          return yield* new NotFound({ message: `agent ${state.agentId} is not provisioned` })
        }
        const agent = state.record.value
        const now = yield* Clock.currentTimeMillis
        const from = yield* channelAddress(agent, cmd.channel)
        const recipient = yield* resolveRecipient({ to: cmd.to, toAgentId: cmd.toAgentId, channel: cmd.channel }).pipe(
          Effect.provide(context)
        )
        if (recipient.address === from) {
          return yield* new InvalidInput({ message: "to: an agent cannot message its own address" })
        }
        const to = recipient.address
        const toAgentId = Option.map(recipient.agent, (a) => a.agentId)
        const body = cmd.channel === "whatsapp" ? yield* whatsappBody(state, cmd, to, now) : cmd.body
        if (body.length > config.maxMessageBodyChars) {
          return yield* new InvalidInput({ message: `body: at most ${config.maxMessageBodyChars} characters` })
        }
        if (body.trim().length === 0 && cmd.mediaUrl === undefined) {
          return yield* new InvalidInput({ message: "body: a message needs text or a mediaUrl" })
        }
        // content filter, before any provider is called
        const subject = cmd.channel === "email" ? cmd.subject ?? "" : ""
        yield* screenContent(agent, cmd.channel, subject.length > 0 ? `${subject}\n${body}` : body)

        const media: ReadonlyArray<MediaItem> = cmd.mediaUrl === undefined
          ? []
          : [{ url: cmd.mediaUrl, contentType: contentTypeOf(cmd.mediaUrl, cmd.mediaType) }]
        const provider = cmd.channel === "email" ? email.provider : telephony.provider
        // compliance, rate windows, spend caps: check and reserve, serialized by this actor
        const action: OutboundAction = {
          kind: "message",
          channel: cmd.channel,
          to,
          toAgentId: Option.getOrNull(toAgentId),
          body,
          mediaCount: media.length,
          provider,
          template: cmd.templateId !== undefined,
          // a redelivered command hits the same reservation row (primary key) and never sends twice
          reservationId: cmd.requestId
        }
        const admitted = yield* Effect.either(guard.admit(state.guard, action))
        if (Either.isLeft(admitted)) {
          const refusal = admitted.left
          if (refusal._tag !== "RateLimited") return yield* Effect.fail(refusal)
          const limited: SendMessageOutput = {
            messageId: "",
            channel: cmd.channel,
            status: "rate_limited",
            cost: 0,
            timestamp: new Date(now).toISOString(),
            rateLimitRemaining: refusal.remaining,
            retryAfterSeconds: refusal.retryAfterSeconds,
            reason: refusal.message
          }
          return Either.left(limited)
        }
        const [admission, guardState] = admitted.right
        yield* anomalies.record(agent.agentId, { _tag: "send", recipient: to })
        const message = { agent, cmd, from, to, toAgentId, body, subject, media, provider }
        const deliver = cmd.channel === "email"
          ? yield* emailDelivery(agent, message)
          : yield* phoneDelivery(
            agent.agentId,
            cmd.channel,
            from,
            to,
            body,
            media,
            cmd.channel === "whatsapp" && cmd.templateId !== undefined
              ? { id: cmd.templateId, variables: cmd.templateVars ?? {} }
              : undefined
          )
        return Either.right([{ ...message, action, admission, deliver } satisfies Admitted, guardState] as const)
      })

    /** Step 3 (inside the actor): the provider answered; settle, record, count. */
    const settle = (state: AgentState, m: Admitted, result: Either.Either<Sent, ProviderError>) =>
      Effect.gen(function*() {
        if (Either.isLeft(result)) {
          const e = result.left
          // an unknown outcome keeps its reservation (it may have gone out): it expires, its rate slot stays
          const guardState = e.kind === "unknown_outcome"
            ? state.guard
            : yield* guard.settle(state.guard, m.admission, { ok: false })
          const error = e.kind === "unknown_outcome"
            ? new ProviderFailure({
              provider: e.provider,
              message: "the provider did not answer in time; the message may have been sent: check comms_get_messages before retrying"
            })
            : providerToolError(e)
          return failed(error, { ...state, guard: guardState })
        }
        const sent = result.right
        const provider = sent.provider ?? m.provider
        // The message is out: from here on a failure to record it must not make the caller retry
        // (a duplicate to a person). Bookkeeping defects are logged and the send still succeeds.
        const cost = m.admission.reservedCost
        const guardState = yield* guard.settle(state.guard, m.admission, {
          ok: true,
          provider,
          externalId: sent.providerMessageId,
          actualCost: cost,
          channel: m.cmd.channel,
          actionType: actionTypeFor(m.action),
          metadata: {
            segments: m.admission.estimate.segments?.segments ?? 0,
            country: m.admission.country ?? "unknown",
            toAgent: Option.isSome(m.toAgentId)
          }
        }).pipe(afterSend("usage not recorded", state.guard))
        const messageId = yield* messages.insert({
          agentId: m.agent.agentId,
          channel: m.cmd.channel,
          direction: "outbound",
          from: m.from,
          to: m.to,
          contact: m.to,
          subject: m.cmd.channel === "email" ? m.subject : null,
          body: m.body,
          media: m.media,
          provider,
          externalId: sent.providerMessageId,
          status: sent.status,
          cost,
          fromAgentId: null,
          privacy: m.agent.privacy
        }).pipe(Effect.orDie, afterSend("message row not recorded", Option.none<string>()))

        const mirrorTo = m.cmd.channel === "sms" ? m.agent.routeDuplication?.sms?.mirrorTo : undefined
        if (mirrorTo !== undefined) {
          yield* mirror(mirrorTo, {
            type: "message.sent",
            agentId: m.agent.agentId,
            channel: m.cmd.channel,
            from: m.from,
            to: m.to,
            body: m.body,
            media: m.media,
            providerMessageId: sent.providerMessageId,
            sentAt: new Date().toISOString()
          })
        }
        const output: SendMessageOutput = {
          messageId: Option.getOrElse(messageId, () => sent.providerMessageId),
          channel: m.cmd.channel,
          status: sent.status,
          cost,
          timestamp: new Date().toISOString(),
          rateLimitRemaining: m.admission.remaining,
          ...(Option.isSome(m.toAgentId) ? { toAgentId: m.toAgentId.value } : {})
        }
        yield* Effect.logInfo("message sent").pipe(
          Effect.annotateLogs({ agentId: m.agent.agentId, channel: m.cmd.channel, messageId: output.messageId })
        )
        return done(output, {
          ...state,
          guard: guardState,
          counters: Option.isSome(messageId) ? countSent(state.counters, m.cmd.channel, sent.status) : undefined
        })
      })

    /** `comms_send_message` as actor steps: admit now, call the provider outside, settle when it answered. */
    const send = Effect.fn("Outbound.send")(function*(state: AgentState, cmd: SendMessage) {
      const admitted = yield* admit(state, cmd)
      if (Either.isLeft(admitted)) return done(admitted.left, state)
      const [m, guardState] = admitted.right
      const step: Step<SendMessageOutput, SendMessageFailure> = suspend(
        { ...state, guard: guardState },
        Effect.map(Effect.either(m.deliver), (result) => (current: AgentState) => settle(current, m, result)),
        `to:${m.to}`
      )
      return step
    })

    /**
     * A keyword confirmation (STOP/START/HELP) from the agent's number: a metered send like any
     * other (rate windows, spend, usage log), exempt only from what the law exempts it from. Returns
     * the state after the reservation and the provider call to run after the webhook was answered;
     * nothing when the agent has no such number or the guard refused (the refusal is logged).
     */
    const keywordReply = Effect.fn("Outbound.keywordReply")(function*(
      state: AgentState,
      channel: "sms" | "whatsapp",
      to: string,
      text: string
    ) {
      const none = [state, undefined] as const
      if (Option.isNone(state.record)) return none
      const agent = state.record.value
      const from = addressOn(agent, channel)
      if (from === null) return none
      const action: OutboundAction = {
        kind: "message",
        channel,
        to,
        toAgentId: null,
        body: text,
        mediaCount: 0,
        provider: telephony.provider,
        transactional: true
      }
      const admitted = yield* Effect.either(guard.admit(state.guard, action))
      if (Either.isLeft(admitted)) {
        yield* Effect.logWarning("keyword confirmation reply not sent").pipe(
          Effect.annotateLogs({ agentId: agent.agentId, refusal: admitted.left._tag })
        )
        return none
      }
      const [admission, guardState] = admitted.right
      const deliver = yield* phoneDelivery(agent.agentId, channel, from, to, text, [])
      const then: Background = {
        io: Effect.map(Effect.either(deliver), (result) => (current: AgentState) =>
          Effect.gen(function*() {
            const outcome = Either.isRight(result)
              ? {
                ok: true as const,
                provider: telephony.provider,
                externalId: result.right.providerMessageId,
                actualCost: admission.reservedCost,
                channel,
                actionType: actionTypeFor(action),
                metadata: { keywordReply: true, segments: admission.estimate.segments?.segments ?? 0 }
              }
              : { ok: false as const }
            if (Either.isLeft(result)) {
              yield* Effect.logWarning("keyword confirmation reply not accepted by the provider").pipe(
                Effect.annotateLogs({ agentId: agent.agentId })
              )
            }
            const next = Either.isLeft(result) && result.left.kind === "unknown_outcome"
              ? current.guard
              : yield* guard.settle(current.guard, admission, outcome)
            return done(undefined, { ...current, guard: next })
          })),
        lane: `to:${to}`
      }
      return [{ ...state, guard: guardState }, then] as const
    })

    return { send, keywordReply } as const
  })
}) {}
