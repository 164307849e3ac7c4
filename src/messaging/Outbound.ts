import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberSet from "effect/FiberSet"
import * as Option from "effect/Option"
import type { MediaItem, MessageChannel } from "../../schema/Domain.ts"
import { ContentBlocked, InvalidInput, NotFound, ProviderFailure, WhatsAppTemplateRequired } from "../../schema/Errors.ts"
import type { SendMessageOutput } from "../../schema/tools/SendMessage.ts"
import type { AgentRecord, AgentsRepo } from "../agents/AgentsRepo.ts"
import type { AgentState } from "../agents/AgentState.ts"
import type { SendMessage } from "../agents/Commands.ts"
import { PublicUrl } from "../http/PublicUrl.ts"
import { Unsubscribe } from "../http/Unsubscribe.ts"
import { AppConfig } from "../config/AppConfig.ts"
import { AuditLog } from "../observability/AuditLog.ts"
import { actionTypeFor, AgentGuard, type OutboundAction } from "../policy/AgentGuard.ts"
import { ContentFilter } from "../policy/ContentFilter.ts"
import { EmailProvider } from "../providers/EmailProvider.ts"
import { Telephony } from "../providers/Telephony.ts"
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

/**
 * The outbound message path, run inside the sending agent's actor: resolve
 * the recipient, content filter, WhatsApp window, then the provider, then the
 * metadata row. Route duplication (SMS mirror, email BCC) never blocks or fails
 * the primary send.
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
    const http = (yield* HttpClient.HttpClient).pipe(HttpClient.filterStatusOk)
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

    const send = (state: AgentState, cmd: SendMessage) =>
      Effect.gen(function*() {
        if (Option.isNone(state.record)) {
          return yield* new NotFound({ message: `agent ${state.agentId} is not provisioned` })
        }
        const agent = state.record.value
        const from = yield* channelAddress(agent, cmd.channel)
        const recipient = yield* resolveRecipient({ to: cmd.to, toAgentId: cmd.toAgentId, channel: cmd.channel }).pipe(
          Effect.provide(context)
        )
        if (recipient.address === from) {
          return yield* new InvalidInput({ message: "to: an agent cannot message its own address" })
        }
        const toAgentId = Option.map(recipient.agent, (a) => a.agentId)

        // WhatsApp: free text only inside the 24-hour window the contact opened
        let body = cmd.body
        if (cmd.channel === "whatsapp") {
          if (cmd.templateId !== undefined) {
            body = yield* templates.renderApproved(cmd.templateId, cmd.templateVars ?? {})
          } else {
            const last = yield* messages.lastInboundAt(agent.agentId, "whatsapp", recipient.address).pipe(Effect.orDie)
            const open = Option.exists(last, (at) => Date.now() - at.getTime() < WINDOW_MS)
            if (!open) {
              return yield* new WhatsAppTemplateRequired({
                message: "outside the 24-hour WhatsApp window: send an approved template (templateId + templateVars)"
              })
            }
          }
        }
        if (body.length > config.maxMessageBodyChars) {
          return yield* new InvalidInput({ message: `body: at most ${config.maxMessageBodyChars} characters` })
        }
        if (body.trim().length === 0 && cmd.mediaUrl === undefined) {
          return yield* new InvalidInput({ message: "body: a message needs text or a mediaUrl" })
        }

        // content filter, before any provider is called
        const subject = cmd.channel === "email" ? cmd.subject ?? "" : ""
        const verdict = yield* filter.check(subject.length > 0 ? `${subject}\n${body}` : body)
        if (!verdict.allowed) {
          yield* audit.append({
            eventType: "content_blocked",
            actor: agent.agentId,
            target: agent.agentId,
            details: { channel: cmd.channel, category: verdict.category }
          })
          yield* Effect.logWarning("outbound message blocked by the content filter").pipe(
            Effect.annotateLogs({ agentId: agent.agentId, category: verdict.category, securityEvent: "content_blocked" })
          )
          return yield* new ContentBlocked({
            message: `message refused by the content filter (${verdict.category}): ${verdict.reason}`,
            category: verdict.category
          })
        }

        const media: ReadonlyArray<MediaItem> = cmd.mediaUrl === undefined
          ? []
          : [{ url: cmd.mediaUrl, contentType: contentTypeOf(cmd.mediaUrl, cmd.mediaType) }]
        const provider = cmd.channel === "email" ? email.provider : telephony.provider

        // compliance, rate windows, spend caps: check and reserve, serialized by this actor
        const action: OutboundAction = {
          kind: "message",
          channel: cmd.channel,
          to: recipient.address,
          toAgentId: Option.getOrNull(toAgentId),
          body,
          mediaCount: media.length,
          provider,
          template: cmd.templateId !== undefined
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
            timestamp: new Date().toISOString(),
            rateLimitRemaining: refusal.remaining,
            retryAfterSeconds: refusal.retryAfterSeconds,
            reason: refusal.message
          }
          return [limited, state] as const
        }
        const [admission, admittedGuard] = admitted.right
        const statusCallbackUrl = yield* publicUrl.webhook(agent.agentId, "message-status")
        const bcc = cmd.channel === "email" ? agent.routeDuplication?.email?.bccTo : undefined
        // CAN-SPAM: a physical address and a one-click unsubscribe (RFC 8058) on every email to a
        // person; mail between two of our agents reaches no consumer and goes as written
        const unsubscribeUrl = cmd.channel === "email" && Option.isNone(toAgentId)
          ? Option.some(yield* unsubscribe.urlFor(agent.agentId, recipient.address))
          : Option.none<string>()
        const sent = yield* (cmd.channel === "email"
          ? email.send({
            agentId: agent.agentId,
            from,
            fromName: agent.displayName,
            to: recipient.address,
            bcc,
            subject,
            text: Option.match(unsubscribeUrl, {
              onNone: () => body,
              onSome: (link) => `${body}\n\n--\n${config.physicalAddress}\nUnsubscribe: ${link}`
            }),
            attachments: media,
            headers: Option.match(unsubscribeUrl, {
              onNone: () => ({}),
              onSome: (link) => ({
                "List-Unsubscribe": `<${link}>`,
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"
              })
            })
          })
          : telephony.sendMessage({
            agentId: agent.agentId,
            channel: cmd.channel,
            from,
            to: recipient.address,
            body,
            media,
            statusCallbackUrl
          })).pipe(
            Effect.tapError(() => guard.settle(admittedGuard, admission, { ok: false })),
            Effect.mapError((e) =>
              new ProviderFailure({ provider: e.provider, message: `the provider could not send: ${e.reason}` })
            )
          )
        // The message is out: from here on a failure to record it must not make the caller retry
        // (a duplicate to a person). Bookkeeping defects are logged and the send still succeeds.
        const cost = admission.reservedCost
        const settledGuard = yield* guard.settle(admittedGuard, admission, {
          ok: true,
          provider,
          externalId: sent.providerMessageId,
          actualCost: cost,
          channel: cmd.channel,
          actionType: actionTypeFor(action),
          metadata: {
            segments: admission.estimate.segments?.segments ?? 0,
            country: admission.country ?? "unknown",
            toAgent: Option.isSome(toAgentId)
          }
        }).pipe(afterSend("usage not recorded", admittedGuard))
        const messageId = yield* messages.insert({
          agentId: agent.agentId,
          channel: cmd.channel,
          direction: "outbound",
          from,
          to: recipient.address,
          contact: recipient.address,
          subject: cmd.channel === "email" ? subject : null,
          body,
          media,
          provider,
          externalId: sent.providerMessageId,
          status: sent.status,
          cost,
          fromAgentId: null,
          privacy: agent.privacy
        }).pipe(Effect.orDie, afterSend("message row not recorded", Option.none<string>()))

        const mirrorTo = cmd.channel === "sms" ? agent.routeDuplication?.sms?.mirrorTo : undefined
        if (mirrorTo !== undefined) {
          yield* mirror(mirrorTo, {
            type: "message.sent",
            agentId: agent.agentId,
            channel: cmd.channel,
            from,
            to: recipient.address,
            body,
            media,
            providerMessageId: sent.providerMessageId,
            sentAt: new Date().toISOString()
          })
        }
        const output: SendMessageOutput = {
          messageId: Option.getOrElse(messageId, () => sent.providerMessageId),
          channel: cmd.channel,
          status: sent.status,
          cost,
          timestamp: new Date().toISOString(),
          rateLimitRemaining: admission.remaining,
          ...(Option.isSome(toAgentId) ? { toAgentId: toAgentId.value } : {})
        }
        yield* Effect.logInfo("message sent").pipe(
          Effect.annotateLogs({ agentId: agent.agentId, channel: cmd.channel, messageId: output.messageId })
        )
        return [output, { ...state, guard: settledGuard }] as const
      }).pipe(Effect.withSpan("Outbound.send", { attributes: { agentId: state.agentId, channel: cmd.channel } }))

    return { send } as const
  })
}) {}
