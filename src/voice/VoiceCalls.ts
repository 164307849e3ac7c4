/**
 * Live calls of every agent in this process: the registry behind
 * `comms_make_call`, `comms_transfer_call`, the voice webhooks and the voice
 * WebSocket. Admission and settlement go through the agent's actor
 * (`AdmitCall`, `CallEnded`); the conversation runs in a `CallSession` whose
 * tokens go straight to the socket. Keyed by our own call id (the provider's
 * CallSid is learned when the call is placed or answered).
 *
 * The WebSocket handshake is authenticated by a single-use token bound to the
 * agent and the call, issued in the TwiML that connects the call, valid for
 * VOICE_WS_TOKEN_TTL_SECONDS (plus the provider's signature when present).
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import { parsePhoneNumberFromString } from "libphonenumber-js"
import { randomBytes, randomUUID } from "node:crypto"
import { InvalidInput, NotFound, ProviderFailure } from "../../schema/Errors.ts"
import type { AgentId } from "../../schema/Ids.ts"
import type { MakeCallInput, MakeCallOutput } from "../../schema/tools/MakeCall.ts"
import type { TransferCallOutput } from "../../schema/tools/TransferCall.ts"
import { type AgentRecord, AgentsRepo } from "../agents/AgentsRepo.ts"
import { AgentRuntime } from "../agents/AgentRuntime.ts"
import { AdmitCall, type CallAdmission, CallEnded } from "../agents/Commands.ts"
import { PriceTable, toUsd } from "../billing/PriceTable.ts"
import { PublicUrl } from "../http/PublicUrl.ts"
import { resolveRecipient, toE164 } from "../messaging/Recipients.ts"
import { AuditLog } from "../observability/AuditLog.ts"
import type { Llm } from "../providers/Llm.ts"
import { Telephony } from "../providers/Telephony.ts"
import { type Instruction, VoiceInstructions } from "../providers/VoiceInstructions.ts"
import * as CallSession from "./CallSession.ts"
import type { SessionOutput } from "./SessionProtocol.ts"
import { VoiceSettings } from "./VoiceConfig.ts"

/** Prometheus: `comms_active_calls{agent}` — live voice calls right now. */
export const activeCalls = Metric.gauge("comms_active_calls", { description: "Live voice calls per agent" })

const TERMINAL = new Set(["completed", "busy", "failed", "no-answer", "canceled"])

export const REFUSAL_UNAVAILABLE = "Sorry, this agent is not available right now. Goodbye."
export const REFUSAL_LIMIT = "Sorry, this agent cannot take more calls right now. Please try again later. Goodbye."
export const RECORDING_NOTICE = "This call is recorded."

export interface LiveCall {
  readonly callId: string
  readonly agentId: AgentId
  readonly direction: "outbound" | "inbound"
  callSid: string | undefined
  readonly from: string
  readonly to: string
  readonly peerAgentId: string | null
  readonly context: string
  readonly voice: string | undefined
  readonly admission: CallAdmission
  readonly record: boolean
  connectedAt: number | undefined
  session: CallSession.CallSession | undefined
  ended: boolean
}

export interface CallOutcome {
  readonly status: string
  readonly durationSeconds?: number | undefined
}

const countryOf = (number: string): string | undefined => parsePhoneNumberFromString(number)?.country

export class VoiceCalls extends Effect.Service<VoiceCalls>()("app/voice/VoiceCalls", {
  effect: Effect.gen(function*() {
    const runtime = yield* AgentRuntime
    const agents = yield* AgentsRepo
    const telephony = yield* Telephony
    const instructions = yield* VoiceInstructions
    const publicUrl = yield* PublicUrl
    const prices = yield* PriceTable
    const audit = yield* AuditLog
    const settings = yield* VoiceSettings
    const sql = yield* SqlClient.SqlClient
    const repoContext = yield* Effect.context<AgentsRepo>()

    const calls = new Map<string, LiveCall>()
    const bySid = new Map<string, string>()
    const tokens = new Map<string, { readonly agentId: AgentId; readonly callId: string; readonly expires: number }>()
    const transfers = new Map<string, { readonly to: string; readonly announcement: string | undefined }>()

    // counted when run, not when built
    const updateGauge = (agentId: AgentId) =>
      Effect.suspend(() =>
        Metric.set(
          Metric.tagged(activeCalls, "agent", agentId),
          [...calls.values()].filter((c) => c.agentId === agentId && !c.ended).length
        )
      )

    const activeAgent = (agentId: AgentId) =>
      Effect.flatMap(agents.find(agentId).pipe(Effect.orDie), (found) =>
        Option.isSome(found) && found.value.status === "active"
          ? Effect.succeed(found.value)
          : Effect.fail(new NotFound({ message: `agent ${agentId} is not provisioned` })))

    const register = (call: LiveCall) =>
      Effect.zipRight(
        Effect.sync(() => {
          calls.set(call.callId, call)
          if (call.callSid !== undefined) bySid.set(call.callSid, call.callId)
        }),
        updateGauge(call.agentId)
      )

    const issueToken = (agentId: AgentId, callId: string) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        for (const [t, v] of tokens) if (v.expires <= now) tokens.delete(t)
        const token = randomBytes(24).toString("base64url")
        tokens.set(token, { agentId, callId, expires: now + settings.wsTokenTtlSeconds * 1000 })
        return token
      })

    const socketPath = settings.orchestrator === "media_streams" ? "media-ws" : "voice-ws"
    const wsUrl = (agentId: AgentId, token: string) =>
      Effect.map(publicUrl.get, (base) =>
        `${base.replace(/^http/, "ws")}/webhooks/${encodeURIComponent(agentId)}/${socketPath}?token=${token}`)

    const withCallId = (url: string, callId: string) => `${url}?callId=${encodeURIComponent(callId)}`

    /** Ends a call once: settles through the actor, writes the call log, forgets it. */
    const finish = (callId: string, outcome: CallOutcome) =>
      Effect.gen(function*() {
        const call = calls.get(callId)
        if (call === undefined || call.ended) return
        call.ended = true
        const now = yield* Clock.currentTimeMillis
        const measured = call.connectedAt === undefined ? 0 : (now - call.connectedAt) / 1000
        const seconds = Math.ceil(outcome.durationSeconds ?? measured)
        const connected = call.connectedAt !== undefined || (outcome.status === "completed" && seconds > 0)
        const minutes = connected ? Math.max(1, Math.ceil(seconds / 60)) : 0
        const other = call.direction === "outbound" ? call.to : call.from
        const turns = call.session === undefined ? undefined : yield* call.session.turns
        const cost = minutes * toUsd(prices.unitPrice(telephony.provider, "voice", call.admission.country ?? countryOf(other)))
        yield* runtime.send(call.agentId, new CallEnded({
          callId,
          admission: call.admission,
          connected,
          minutes,
          cost,
          // the usage dashboard buckets both as calls
          actionType: call.direction === "outbound" ? "make_call" : "call_minutes",
          channel: "voice",
          provider: telephony.provider,
          externalId: call.callSid ?? null,
          turns: turns === undefined ? undefined : {
            caller: turns.filter((t) => t.role === "caller").length,
            agent: turns.filter((t) => t.role === "agent").length
          }
        }))
        const status = connected && !TERMINAL.has(outcome.status) ? "completed" : outcome.status
        yield* sql`UPDATE call_logs SET status = ${status}, duration_seconds = ${seconds}, minutes = ${minutes},
            cost = ${cost.toFixed(6)}, ended_at = COALESCE(ended_at, now())
          WHERE call_id = ${callId}`.pipe(Effect.orDie)
        calls.delete(callId)
        if (call.callSid !== undefined) bySid.delete(call.callSid)
        yield* updateGauge(call.agentId)
        yield* Effect.logInfo("call ended").pipe(Effect.annotateLogs({ agentId: call.agentId, callId, minutes, status }))
      }).pipe(Effect.withSpan("VoiceCalls.finish"))

    const insertLog = (call: LiveCall, status: string) =>
      sql`INSERT INTO call_logs ${
        sql.insert({
          agentId: call.agentId,
          callSid: call.callSid ?? `pending:${call.callId}`,
          callId: call.callId,
          direction: call.direction,
          fromNumber: call.from,
          toNumber: call.to,
          status,
          peerAgentId: call.peerAgentId,
          startedAt: new Date()
        })
      } ON CONFLICT (call_sid) DO NOTHING`.pipe(Effect.asVoid, Effect.orDie)

    const makeCall = (agentId: AgentId, input: MakeCallInput) =>
      Effect.gen(function*() {
        const agent = yield* activeAgent(agentId)
        if (agent.phoneNumber === null) {
          return yield* new InvalidInput({ message: "this agent has no phone number (provision the phone capability)" })
        }
        const from = agent.phoneNumber
        const recipient = yield* resolveRecipient({ to: input.to, toAgentId: input.toAgentId, channel: "sms" }).pipe(
          Effect.provide(repoContext)
        )
        if (recipient.address === from) return yield* new InvalidInput({ message: "to: an agent cannot call its own number" })
        const peer = Option.map(recipient.agent, (a) => a.agentId)
        // every guardrail, in the agent's actor, before anything is dialled
        const admission = yield* runtime.send(agentId, new AdmitCall({
          direction: "outbound",
          to: recipient.address,
          toAgentId: Option.getOrUndefined(peer),
          maxMinutes: input.maxDurationMinutes,
          purpose: "live_call",
          channel: "voice",
          provider: telephony.provider
        }))
        const call: LiveCall = {
          callId: randomUUID(),
          agentId,
          direction: "outbound",
          callSid: undefined,
          from,
          to: recipient.address,
          peerAgentId: Option.getOrNull(peer),
          context: input.context,
          voice: input.voice,
          admission,
          record: input.routeDuplication?.alsoRecord ?? agent.routeDuplication?.liveCall?.alsoRecord ?? false,
          connectedAt: undefined,
          session: undefined,
          ended: false
        }
        yield* register(call)
        yield* insertLog(call, "initiated")
        const placed = yield* telephony.placeCall({
          agentId,
          from,
          to: recipient.address,
          url: withCallId(yield* publicUrl.webhook(agentId, "voice"), call.callId),
          statusCallbackUrl: withCallId(yield* publicUrl.webhook(agentId, "voice-status"), call.callId),
          timeLimitSeconds: Math.ceil(admission.maxMinutes * 60),
          recordingStatusUrl: call.record ? withCallId(yield* publicUrl.webhook(agentId, "voice-recording"), call.callId) : undefined
        }).pipe(
          Effect.tapError(() => finish(call.callId, { status: "failed" })),
          Effect.mapError((e) => new ProviderFailure({ provider: e.provider, message: `the call could not be placed: ${e.reason}` }))
        )
        if (call.callSid === undefined) call.callSid = placed.callSid
        bySid.set(placed.callSid, call.callId)
        yield* sql`UPDATE call_logs SET call_sid = ${placed.callSid} WHERE call_id = ${call.callId} AND call_sid LIKE 'pending:%'`.pipe(
          Effect.orDie
        )
        yield* Effect.logInfo("call placed").pipe(Effect.annotateLogs({ agentId, callId: call.callId }))
        const output: MakeCallOutput = {
          callSid: placed.callSid,
          status: "initiated",
          from,
          to: recipient.address,
          maxDurationMinutes: admission.maxMinutes,
          ...(Option.isSome(peer) ? { toAgentId: peer.value } : {})
        }
        return output
      }).pipe(Effect.withSpan("VoiceCalls.makeCall", { attributes: { agentId } }))

    const connectInstruction = (agent: AgentRecord, call: LiveCall) =>
      Effect.gen(function*() {
        const token = yield* issueToken(agent.agentId, call.callId)
        const recordingUrl = call.record
          ? Option.some(withCallId(yield* publicUrl.webhook(agent.agentId, "voice-recording"), call.callId))
          : Option.none<string>()
        return instructions.connect({
          mode: settings.orchestrator === "media_streams" ? "media_stream" : "relay",
          websocketUrl: yield* wsUrl(agent.agentId, token),
          actionUrl: withCallId(yield* publicUrl.webhook(agent.agentId, "voice-action"), call.callId),
          greeting: agent.greeting ?? `Hello, this is ${agent.displayName}.`,
          voice: call.voice ?? Option.getOrUndefined(settings.defaultVoice),
          language: settings.language,
          // two-party-consent states: announce whenever a recording runs (the callee's state is unknowable)
          announcement: call.record ? RECORDING_NOTICE : undefined,
          record: Option.match(recordingUrl, { onNone: () => undefined, onSome: (u) => ({ recordingStatusUrl: u }) })
        })
      })

    /**
     * The answer to a voice webhook: the outbound leg of a call we placed
     * (`callId` present), or an inbound call admitted now — refused politely
     * (spoken, then hang up) when the agent is suspended or over its limits.
     */
    const answer = (agentId: AgentId, callId: string | undefined, fields: { readonly callSid: string; readonly from: string; readonly to: string }) =>
      Effect.gen(function*() {
        const agent = yield* Effect.either(activeAgent(agentId))
        if (Either.isLeft(agent)) return instructions.sayAndHangUp(REFUSAL_UNAVAILABLE)
        if (callId !== undefined) {
          const call = calls.get(callId)
          if (call === undefined || call.agentId !== agentId || call.ended) return instructions.hangUp()
          if (call.callSid === undefined) {
            call.callSid = fields.callSid
            bySid.set(fields.callSid, call.callId)
          }
          return yield* connectInstruction(agent.right, call)
        }
        const admitted = yield* Effect.either(runtime.send(agentId, new AdmitCall({
          direction: "inbound",
          to: fields.from,
          maxMinutes: settings.inboundMaxMinutes,
          purpose: "live_call",
          channel: "voice",
          provider: telephony.provider
        })))
        if (Either.isLeft(admitted)) {
          yield* Effect.logInfo("inbound call refused").pipe(Effect.annotateLogs({ agentId, reason: admitted.left._tag }))
          return instructions.sayAndHangUp(admitted.left._tag === "NotFound" ? REFUSAL_UNAVAILABLE : REFUSAL_LIMIT)
        }
        const peer = yield* agents.findByAddress(fields.from).pipe(Effect.orDie)
        const call: LiveCall = {
          callId: randomUUID(),
          agentId,
          direction: "inbound",
          callSid: fields.callSid,
          from: fields.from,
          to: fields.to,
          peerAgentId: Option.match(peer, { onNone: () => null, onSome: (p) => p.agentId }),
          context: "",
          voice: undefined,
          admission: admitted.right,
          record: agent.right.routeDuplication?.liveCall?.alsoRecord ?? false,
          connectedAt: undefined,
          session: undefined,
          ended: false
        }
        yield* register(call)
        yield* insertLog(call, "ringing")
        return yield* connectInstruction(agent.right, call)
      }).pipe(Effect.withSpan("VoiceCalls.answer", { attributes: { agentId } }))

    /** Checks and consumes a handshake token: the call it was issued for, if it is this agent's and still valid. */
    const claimToken = (agentId: AgentId, token: string | undefined) =>
      Effect.map(Clock.currentTimeMillis, (now): Either.Either<LiveCall, string> => {
        if (token === undefined) return Either.left("missing token")
        const entry = tokens.get(token)
        if (entry === undefined) return Either.left("unknown or used token")
        if (entry.agentId !== agentId) return Either.left("token of another agent")
        tokens.delete(token)
        if (entry.expires <= now) return Either.left("expired token")
        const call = calls.get(entry.callId)
        if (call === undefined || call.ended || call.session !== undefined) return Either.left("call not live")
        return Either.right(call)
      })

    /** Starts the conversation of a connected call; the session lives in the caller's scope. */
    const startSession = (call: LiveCall, send: (out: SessionOutput) => Effect.Effect<void>): Effect.Effect<CallSession.CallSession, never, Llm | Scope.Scope> =>
      Effect.gen(function*() {
        const agent = yield* agents.find(call.agentId).pipe(Effect.orDie)
        const record = Option.getOrUndefined(agent)
        const session = yield* CallSession.make({
          agentId: call.agentId,
          callId: call.callId,
          systemPrompt: record?.systemPrompt ?? "",
          context: call.context,
          language: settings.language,
          maxDuration: `${Math.round(call.admission.maxMinutes * 60_000)} millis`,
          greeting: record?.greeting ?? undefined
        }, send)
        call.session = session
        call.connectedAt = yield* Clock.currentTimeMillis
        yield* sql`UPDATE call_logs SET status = 'in-progress' WHERE call_id = ${call.callId}`.pipe(Effect.orDie)
        return session
      })

    /** A status callback: moves the call log forward; a call that never connected ends here. */
    const applyStatus = (agentId: AgentId, callId: string | undefined, update: { readonly callSid: string; readonly status: string; readonly durationSeconds?: number | undefined }) =>
      Effect.gen(function*() {
        const id = callId ?? bySid.get(update.callSid)
        const call = id === undefined ? undefined : calls.get(id)
        if (call !== undefined && call.agentId !== agentId) return
        yield* sql`UPDATE call_logs SET status = ${update.status},
            duration_seconds = COALESCE(${update.durationSeconds ?? null}, duration_seconds)
          WHERE agent_id = ${agentId} AND (call_id = ${id ?? ""} OR call_sid = ${update.callSid})
            AND (status IS NULL OR status NOT IN ('completed', 'busy', 'failed', 'no-answer', 'canceled'))`.pipe(Effect.orDie)
        if (call !== undefined && TERMINAL.has(update.status)) {
          yield* finish(call.callId, { status: update.status, durationSeconds: update.durationSeconds })
        }
      }).pipe(Effect.withSpan("VoiceCalls.applyStatus", { attributes: { agentId } }))

    const transfer = (agentId: AgentId, input: { readonly callSid: string; readonly transferTo: string; readonly announcement?: string | undefined }) =>
      Effect.gen(function*() {
        const id = bySid.get(input.callSid)
        const call = id === undefined ? undefined : calls.get(id)
        if (call === undefined || call.agentId !== agentId || call.ended) {
          return yield* new NotFound({ message: "no live call with this callSid for this agent" })
        }
        if (call.session === undefined) return yield* new InvalidInput({ message: "the call is not connected yet" })
        const to = toE164(input.transferTo)
        if (Option.isNone(to)) return yield* new InvalidInput({ message: "transferTo: expected an E.164 phone number" })
        // the human leg is a new outbound call: DNC, quiet hours, per-number cap, rate and spend apply
        const admission = yield* runtime.send(agentId, new AdmitCall({
          direction: "outbound",
          to: to.value,
          maxMinutes: 1,
          purpose: "transfer",
          channel: "voice",
          provider: telephony.provider
        }))
        transfers.set(call.callId, { to: to.value, announcement: input.announcement })
        yield* call.session.end("transfer", JSON.stringify({ reason: "transfer", to: to.value }))
        yield* runtime.send(agentId, new CallEnded({
          callId: call.callId,
          admission,
          connected: true,
          minutes: 1,
          cost: admission.reservedCost,
          actionType: "transfer_call",
          channel: "voice",
          provider: telephony.provider,
          externalId: input.callSid
        }))
        yield* sql`UPDATE call_logs SET transferred_to = ${to.value} WHERE call_id = ${call.callId}`.pipe(Effect.orDie)
        yield* audit.append({ eventType: "call_transferred", actor: agentId, target: agentId, details: { callId: call.callId } })
        const output: TransferCallOutput = { callSid: input.callSid, status: "transferring", transferTo: to.value }
        return output
      }).pipe(Effect.withSpan("VoiceCalls.transfer", { attributes: { agentId } }))

    /** The `<Connect action>` request after a session ended: dial the transfer target, else hang up. */
    const action = (agentId: AgentId, callId: string | undefined): Effect.Effect<Instruction> =>
      Effect.gen(function*() {
        const t = callId === undefined ? undefined : transfers.get(callId)
        if (t === undefined || callId === undefined) return instructions.hangUp()
        transfers.delete(callId)
        const agent = yield* Effect.option(activeAgent(agentId))
        const callerId = Option.flatMap(agent, (a) => Option.fromNullable(a.phoneNumber))
        return instructions.dial({ to: t.to, callerId: Option.getOrElse(callerId, () => ""), announcement: t.announcement })
      })

    /** Live calls of an agent (or all). */
    const live = (agentId?: AgentId) => Effect.sync(() => [...calls.values()].filter((c) => !c.ended && (agentId === undefined || c.agentId === agentId)))

    const recording = (agentId: AgentId, callId: string | undefined, recordingUrl: string) =>
      callId === undefined ? Effect.void : sql`UPDATE call_logs SET recording_url = ${recordingUrl}
        WHERE agent_id = ${agentId} AND call_id = ${callId}`.pipe(Effect.asVoid, Effect.orDie)

    return { makeCall, answer, claimToken, startSession, finish, applyStatus, transfer, action, live, recording } as const
  })
}) {}
