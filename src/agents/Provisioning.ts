import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { AlreadyProvisioned, InvalidInput, NotFound, ProviderFailure } from "../../schema/Errors.ts"
import type { DeprovisionChannelsOutput } from "../../schema/tools/DeprovisionChannels.ts"
import type { ChannelStatusOutput } from "../../schema/tools/GetChannelStatus.ts"
import type { ProvisionChannelsOutput, ProvisionedChannels } from "../../schema/tools/ProvisionChannels.ts"
import { OutboundUrlPolicy } from "../http/OutboundUrlPolicy.ts"
import { PublicUrl } from "../http/PublicUrl.ts"
import { AgentGuard } from "../policy/AgentGuard.ts"
import { AuditLog } from "../observability/AuditLog.ts"
import { EmailProvider } from "../providers/EmailProvider.ts"
import type { ProviderError } from "../providers/ProviderError.ts"
import { Telephony } from "../providers/Telephony.ts"
import { VoiceOrchestrator } from "../providers/VoiceOrchestrator.ts"
import { WhatsAppSenders } from "../providers/WhatsAppSenders.ts"
import { AgentTokens } from "../security/AgentTokens.ts"
import { AgentPool } from "./AgentPool.ts"
import { AgentsRepo } from "./AgentsRepo.ts"
import type { ChannelCounters } from "./AgentMemoryRepo.ts"
import type { AgentState } from "./AgentState.ts"
import type { Deprovision, Provision } from "./Commands.ts"
import { WhatsAppPool } from "./WhatsAppPool.ts"

const toFailure = (e: ProviderError) =>
  new ProviderFailure({ provider: e.provider, message: `${e.operation} failed at the provider: ${e.reason}` })

/**
 * What an agent actor does with its lifecycle commands. Runs only inside the
 * agent's actor, so one agent's commands never interleave.
 */
export class Provisioning extends Effect.Service<Provisioning>()("app/agents/Provisioning", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const repo = yield* AgentsRepo
    const pool = yield* AgentPool
    const whatsappPool = yield* WhatsAppPool
    const tokens = yield* AgentTokens
    const audit = yield* AuditLog
    const telephony = yield* Telephony
    const email = yield* EmailProvider
    const voice = yield* VoiceOrchestrator
    const whatsapp = yield* WhatsAppSenders
    const guard = yield* AgentGuard
    const publicUrl = yield* PublicUrl
    const urls = yield* OutboundUrlPolicy

    const provision = Effect.fn("Provisioning.provision")((state: AgentState, cmd: Provision) =>
      Effect.gen(function*() {
        const { agentId } = state
        if (Option.isSome(state.record)) {
          return yield* new AlreadyProvisioned({
            message: `agent ${agentId} is already provisioned; deprovision it first or use comms_get_channel_status`
          })
        }
        const caps = cmd.capabilities
        const mirrorTo = cmd.routeDuplication?.sms?.mirrorTo
        if (mirrorTo !== undefined) {
          // SMS bodies will be posted there: refused now rather than at every send
          yield* urls.check(mirrorTo).pipe(
            Effect.mapError((e) => new InvalidInput({ message: `routeDuplication.sms.mirrorTo: ${e.message}` }))
          )
        }
        const hooks = {
          voice: yield* publicUrl.webhook(agentId, "voice"),
          sms: yield* publicUrl.webhook(agentId, "sms"),
          email: yield* publicUrl.webhook(agentId, "email"),
          voiceWs: (yield* publicUrl.webhook(agentId, "voice-ws")).replace(/^http/, "ws")
        }
        const remaining = yield* pool.acquire
        const work = Effect.gen(function*() {
          const phone = caps.phone || caps.voiceAi
            ? Option.some(
              yield* telephony.provisionNumber({
                agentId,
                country: cmd.country,
                voiceUrl: hooks.voice,
                smsUrl: hooks.sms
              })
            )
            : Option.none()
          const inbox = caps.email
            ? Option.some(yield* email.provisionAddress({ agentId, inboundUrl: hooks.email }))
            : Option.none()
          const app = caps.voiceAi
            ? Option.some(
              yield* voice.createApp({
                agentId,
                voiceUrl: hooks.voice,
                websocketUrl: hooks.voiceWs
              })
            )
            : Option.none()

          return yield* Effect.gen(function*() {
            yield* repo.upsertActive({
              agentId,
              displayName: cmd.displayName,
              country: cmd.country,
              capabilities: caps,
              phoneNumber: Option.getOrNull(Option.map(phone, (p) => p.number)),
              emailAddress: Option.getOrNull(Option.map(inbox, (i) => i.address)),
              voiceAppSid: Option.getOrNull(Option.map(app, (a) => a.appSid)),
              systemPrompt: cmd.systemPrompt,
              greeting: cmd.greeting,
              routeDuplication: cmd.routeDuplication ?? null,
              providerOverrides: cmd.providerOverrides ?? null,
              privacy: cmd.privacy ?? null
            })
            let whatsappChannel: ProvisionedChannels["whatsapp"] = undefined
            if (caps.whatsapp) {
              const sender = yield* whatsappPool.assign(agentId)
              if (Option.isSome(sender)) {
                const profile = sender.value.senderSid === null
                  ? { status: "pending_review" as const }
                  : yield* whatsapp.assignProfile({ senderSid: sender.value.senderSid, displayName: cmd.displayName })
                yield* repo.setWhatsApp(agentId, {
                  senderSid: sender.value.senderSid ?? "",
                  number: sender.value.phoneNumber,
                  status: profile.status
                })
                whatsappChannel = { number: sender.value.phoneNumber, status: profile.status }
              } else {
                yield* repo.setWhatsApp(agentId, { senderSid: "", number: null, status: "pending_review" })
                whatsappChannel = { number: null, status: "pending_review" }
              }
            }
            const issued = cmd.issueToken ? Option.some(yield* tokens.issue(agentId, cmd.actor)) : Option.none()
            yield* audit.append({
              eventType: "agent_provisioned",
              actor: cmd.actor,
              target: agentId,
              details: {
                phone: caps.phone,
                whatsapp: caps.whatsapp,
                email: caps.email,
                voiceAi: caps.voiceAi,
                country: cmd.country
              }
            })
            if (Option.isSome(issued)) {
              yield* audit.append({
                eventType: "token_issued",
                actor: cmd.actor,
                target: agentId,
                details: { tokenId: issued.value.tokenId, reason: "provision" }
              })
            }
            const record = yield* repo.find(agentId)
            return { whatsappChannel, issued, record }
          }).pipe(sql.withTransaction, Effect.catchTags({ SqlError: Effect.die, ParseError: Effect.die })).pipe(
            Effect.map(({ issued, record, whatsappChannel }) => {
              const channels: Mutable<ProvisionedChannels> = {}
              if (Option.isSome(phone)) {
                // the number carries voice (phone or live voice AI); SMS only with the phone capability
                channels.phone = { number: phone.value.number, status: "active" }
                if (caps.phone) channels.sms = { number: phone.value.number, status: "active" }
              }
              if (whatsappChannel !== undefined) channels.whatsapp = whatsappChannel
              if (Option.isSome(inbox)) channels.email = { address: inbox.value.address, status: "active" }
              if (Option.isSome(app)) channels.voiceAi = { appSid: app.value.appSid, status: "active" }
              const output: ProvisionChannelsOutput = {
                agentId,
                channels,
                poolSlotsRemaining: remaining,
                provisionedAt: Option.match(record, {
                  onNone: () => new Date().toISOString(),
                  onSome: (r) => r.provisionedAt.toISOString()
                }),
                ...(Option.isSome(issued)
                  ? {
                    securityToken: Redacted.value(issued.value.token),
                    tokenExpiresAt: issued.value.expiresAt.toISOString()
                  }
                  : {})
              }
              return [output, { ...state, record }] as const
            })
          )
        }).pipe(
          Effect.mapError(toFailure),
          // the slot was taken before any provider was asked: give it back on any failure
          Effect.onError(() => pool.release)
        )
        const [output, next] = yield* work
        yield* Effect.logInfo("agent provisioned").pipe(
          Effect.annotateLogs({ agentId, poolSlotsRemaining: output.poolSlotsRemaining })
        )
        return [output, { ...next, record: Option.filter(next.record, (r) => r.status === "active") }] as const
      }))

    const deprovision = Effect.fn("Provisioning.deprovision")((state: AgentState, cmd: Deprovision) =>
      Effect.gen(function*() {
        const { agentId } = state
        if (Option.isNone(state.record)) {
          return yield* new NotFound({ message: `agent ${agentId} is not provisioned` })
        }
        const { remaining, revoked } = yield* Effect.gen(function*() {
          const revoked = yield* tokens.revokeAll(agentId)
          yield* whatsappPool.release(agentId)
          yield* repo.markDeprovisioned(agentId, !cmd.releaseNumber)
          const remaining = yield* pool.release
          yield* audit.append({
            eventType: "agent_deprovisioned",
            actor: cmd.actor,
            target: agentId,
            details: { releaseNumber: cmd.releaseNumber, tokensRevoked: revoked }
          })
          if (revoked > 0) {
            yield* audit.append({
              eventType: "token_revoked",
              actor: cmd.actor,
              target: agentId,
              details: { count: revoked, reason: "deprovision" }
            })
          }
          return { remaining, revoked }
        }).pipe(sql.withTransaction, Effect.orDie, Effect.ensuring(tokens.forget(agentId)))
        // The agent is gone and its tokens are dead; giving numbers back is best effort.
        let releasedNumber = false
        if (cmd.releaseNumber) {
          const results = yield* Effect.all([
            telephony.releaseNumber(agentId),
            email.releaseAddress(agentId),
            voice.deleteApp(agentId)
          ], { mode: "either", concurrency: 3 })
          releasedNumber = results.every((r) => r._tag === "Right")
          if (!releasedNumber) {
            yield* Effect.logWarning("provider release failed after deprovisioning").pipe(Effect.annotateLogs({ agentId }))
          }
        }
        const output: DeprovisionChannelsOutput = {
          agentId,
          status: "deprovisioned",
          releasedNumber,
          tokensRevoked: revoked,
          poolSlotsRemaining: remaining,
          deprovisionedAt: new Date().toISOString()
        }
        yield* Effect.logInfo("agent deprovisioned").pipe(Effect.annotateLogs({ agentId }))
        return [output, { ...state, record: Option.none() }] as const
      }))

    /** `comms_get_channel_status` from the actor's state and its cached counters (no database). */
    const status = (state: AgentState, counters: ChannelCounters, now: number) =>
      Effect.gen(function*() {
        if (Option.isNone(state.record)) {
          return yield* new NotFound({ message: `agent ${state.agentId} is not provisioned` })
        }
        const r = state.record.value
        const usage = guard.usage(state.guard, now)
        const channels: Mutable<ChannelStatusOutput["channels"]> = {}
        if ((r.capabilities.phone || r.capabilities.voiceAi) && r.phoneNumber !== null) {
          channels.phone = { number: r.phoneNumber, status: "active", monthlyMessages: counters.monthlyMessages }
        }
        if (r.capabilities.whatsapp) {
          const st = r.whatsappStatus === "active" || r.whatsappStatus === "rejected" ? r.whatsappStatus : "pending_review"
          channels.whatsapp = {
            number: r.whatsappNumber,
            status: st,
            qualityRating: st === "active" ? (whatsapp.provider === "sandbox" ? "high" : "unknown") : "unknown"
          }
        }
        if (r.capabilities.email && r.emailAddress !== null) {
          channels.email = {
            address: r.emailAddress,
            status: "active",
            deliveryRate: counters.emailSent === 0 ? 1 : counters.emailDelivered / counters.emailSent
          }
        }
        if (r.capabilities.voiceAi) {
          channels.voiceAi = { status: "active", totalCallMinutes: Math.round((counters.callSeconds / 60) * 100) / 100 }
        }
        const output: ChannelStatusOutput = {
          agentId: r.agentId,
          displayName: r.displayName,
          status: "active",
          provisionedAt: r.provisionedAt.toISOString(),
          channels,
          monthlyCost: usage.spentThisMonth,
          rateLimits: {
            actionsThisMinute: usage.actionsThisMinute,
            actionsToday: usage.actionsToday,
            maxPerMinute: state.guard.limits.maxActionsPerMinute,
            maxPerDay: state.guard.limits.maxActionsPerDay
          }
        }
        return output
      })

    return { provision, deprovision, status } as const
  })
}) {}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }
