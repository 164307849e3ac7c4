/**
 * `comms_send_voice_message`: text → speech (Tts port) → a μ-law 8 kHz WAV in
 * storage (Storage port) → a signed, expiring `audioUrl` → delivered as a
 * phone call that plays it (optionally recording the reply) or as a WhatsApp
 * audio message. Admitted and settled through the agent's actor like a call
 * (kind "voice_message"): TTS and delivery cost are both recorded.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { randomUUID } from "node:crypto"
import { InvalidInput, NotFound, ProviderFailure, WhatsAppTemplateRequired } from "../../schema/Errors.ts"
import type { AgentId } from "../../schema/Ids.ts"
import type { SendVoiceMessageInput, SendVoiceMessageOutput } from "../../schema/tools/SendVoiceMessage.ts"
import { AgentsRepo } from "../agents/AgentsRepo.ts"
import { AgentRuntime } from "../agents/AgentRuntime.ts"
import { AdmitCall, type CallAdmission, CallEnded } from "../agents/Commands.ts"
import { PriceTable, toUsd } from "../billing/PriceTable.ts"
import { PublicUrl } from "../http/PublicUrl.ts"
import { MessagesRepo } from "../messaging/MessagesRepo.ts"
import { addressOn, resolveRecipient } from "../messaging/Recipients.ts"
import type { ProviderError } from "../providers/ProviderError.ts"
import { Storage } from "../providers/Storage.ts"
import { Telephony } from "../providers/Telephony.ts"
import { Tts } from "../providers/Tts.ts"
import { type Instruction, VoiceInstructions } from "../providers/VoiceInstructions.ts"
import { MediaUrls } from "./MediaUrls.ts"
import { VoiceSettings } from "./VoiceConfig.ts"

export class VoiceMessages extends Effect.Service<VoiceMessages>()("app/voice/VoiceMessages", {
  effect: Effect.gen(function*() {
    const runtime = yield* AgentRuntime
    const agents = yield* AgentsRepo
    const telephony = yield* Telephony
    const tts = yield* Tts
    const storage = yield* Storage
    const mediaUrls = yield* MediaUrls
    const instructions = yield* VoiceInstructions
    const publicUrl = yield* PublicUrl
    const prices = yield* PriceTable
    const settings = yield* VoiceSettings
    const sql = yield* SqlClient.SqlClient
    const repoContext = yield* Effect.context<AgentsRepo>()
    const messagesRepo = yield* MessagesRepo
    /** Voice messages waiting for their call to be answered: what to play. */
    const pending = new Map<string, { readonly agentId: AgentId; readonly audioUrl: string; readonly recordUrl: string | undefined }>()

    const release = (agentId: AgentId, id: string, admission: CallAdmission, channel: string) =>
      runtime.send(agentId, new CallEnded({
        callId: id,
        admission,
        connected: false,
        minutes: 0,
        cost: 0,
        actionType: "voice_message",
        channel,
        provider: telephony.provider,
        externalId: null
      }))

    const providerFailure = (what: string) => (e: ProviderError) =>
      new ProviderFailure({ provider: e.provider, message: `${what}: ${e.reason}` })

    const send = (agentId: AgentId, input: SendVoiceMessageInput) =>
      Effect.gen(function*() {
        const found = yield* agents.find(agentId).pipe(Effect.orDie)
        if (Option.isNone(found) || found.value.status !== "active") {
          return yield* new NotFound({ message: `agent ${agentId} is not provisioned` })
        }
        const agent = found.value
        const channel = input.deliveryChannel === "whatsapp_audio" ? "whatsapp" as const : "sms" as const
        const from = addressOn(agent, channel)
        if (from === null) {
          return yield* new InvalidInput({ message: `this agent has no ${channel === "sms" ? "phone number" : "WhatsApp sender"}` })
        }
        const recipient = yield* resolveRecipient({ to: input.to, toAgentId: undefined, channel }).pipe(Effect.provide(repoContext))
        if (channel === "whatsapp" && Option.isNone(recipient.agent)) {
          // free-form WhatsApp (audio included) only inside the 24-hour window the contact opened
          const last = yield* messagesRepo.lastInboundAt(agentId, "whatsapp", recipient.address).pipe(Effect.orDie)
          if (!Option.exists(last, (at) => Date.now() - at.getTime() < 24 * 3600_000)) {
            return yield* new WhatsAppTemplateRequired({
              message: "outside the 24-hour WhatsApp window: audio can only follow a message from the contact"
            })
          }
        }
        const guardChannel = channel === "whatsapp" ? "whatsapp" as const : "voice" as const
        const admission = yield* runtime.send(agentId, new AdmitCall({
          direction: "outbound",
          to: recipient.address,
          toAgentId: Option.getOrUndefined(Option.map(recipient.agent, (a) => a.agentId)),
          maxMinutes: 10,
          purpose: "voice_message",
          channel: guardChannel,
          text: input.text,
          provider: telephony.provider
        }))
        const id = randomUUID()
        const failed = <E>(e: E) => Effect.as(release(agentId, id, admission, guardChannel), e)

        const audio = yield* tts.synthesize({ text: input.text, voice: input.voice ?? Option.getOrUndefined(settings.defaultVoice) }).pipe(
          Effect.mapError(providerFailure("speech could not be generated")),
          Effect.tapError(failed)
        )
        const key = `voice/${agentId}/${id}.wav`
        yield* storage.put(key, { bytes: audio.wav, contentType: audio.contentType }).pipe(
          Effect.mapError(providerFailure("the audio could not be stored")),
          Effect.tapError(failed)
        )
        const audioUrl = yield* mediaUrls.sign(key, settings.mediaUrlTtlSeconds)

        const delivered = yield* (channel === "whatsapp"
          ? telephony.sendMessage({
            agentId,
            channel: "whatsapp",
            from,
            to: recipient.address,
            body: "",
            media: [{ url: audioUrl, contentType: audio.contentType }],
            statusCallbackUrl: yield* publicUrl.webhook(agentId, "message-status")
          }).pipe(Effect.map((r) => ({ externalId: r.providerMessageId })))
          : Effect.gen(function*() {
            const recordUrl = input.recordResponse === true
              ? `${yield* publicUrl.webhook(agentId, "voice-recording")}?message=${id}`
              : undefined
            pending.set(id, { agentId, audioUrl, recordUrl })
            const placed = yield* telephony.placeCall({
              agentId,
              from,
              to: recipient.address,
              url: `${yield* publicUrl.webhook(agentId, "voice")}?message=${id}`,
              statusCallbackUrl: `${yield* publicUrl.webhook(agentId, "voice-status")}?message=${id}`,
              timeLimitSeconds: Math.ceil(audio.durationSeconds) + 90
            }).pipe(Effect.tapError(() => Effect.sync(() => pending.delete(id))))
            return { externalId: placed.callSid }
          })).pipe(Effect.mapError(providerFailure("the voice message could not be delivered")), Effect.tapError(failed))

        // speech (per minute of audio) + delivery (a call of that length, or a WhatsApp message)
        const estimate = prices.estimate({
          kind: "voice_message",
          channel: guardChannel,
          body: input.text,
          country: admission.country ?? undefined,
          provider: telephony.provider,
          estimatedMinutes: audio.durationSeconds / 60,
          // WhatsApp audio goes inside the contact's window: a session message
          template: false,
          maxCallMinutes: 10
        })
        const cost = toUsd(estimate.cost)
        const minutes = Math.max(1, Math.ceil(audio.durationSeconds / 60))
        yield* runtime.send(agentId, new CallEnded({
          callId: id,
          admission,
          connected: true,
          minutes,
          cost,
          actionType: channel === "whatsapp" ? "whatsapp_audio" : "voice_message",
          channel: guardChannel,
          provider: telephony.provider,
          externalId: delivered.externalId
        }))
        yield* sql`INSERT INTO voice_messages ${
          sql.insert({
            id,
            agentId,
            channel: guardChannel,
            toNumber: recipient.address,
            audioKey: key,
            durationSeconds: audio.durationSeconds.toFixed(2),
            provider: `${tts.provider}+${telephony.provider}`,
            externalId: delivered.externalId,
            status: "queued",
            cost: cost.toFixed(6)
          })
        }`.pipe(Effect.orDie)
        const output: SendVoiceMessageOutput = {
          messageId: id,
          audioUrl,
          durationSeconds: Math.round(audio.durationSeconds * 100) / 100,
          deliveryStatus: "queued",
          cost
        }
        return output
      }).pipe(Effect.withSpan("VoiceMessages.send", { attributes: { agentId, channel: input.deliveryChannel } }))

    /** The TwiML of a voice-message call once answered (None: unknown or already played). */
    const instruction = (agentId: AgentId, id: string): Option.Option<Instruction> => {
      const p = pending.get(id)
      if (p === undefined || p.agentId !== agentId) return Option.none()
      pending.delete(id)
      return Option.some(instructions.play({
        audioUrl: p.audioUrl,
        recordReply: p.recordUrl === undefined ? undefined : { statusUrl: p.recordUrl }
      }))
    }

    const applyStatus = (agentId: AgentId, id: string, status: string) =>
      sql`UPDATE voice_messages SET status = ${status} WHERE agent_id = ${agentId} AND id = ${id}`.pipe(Effect.asVoid, Effect.orDie)

    return { send, instruction, applyStatus } as const
  })
}) {}
