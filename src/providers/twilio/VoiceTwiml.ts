import * as Layer from "effect/Layer"
import twilio from "twilio"
import { type ConnectRequest, type Instruction, VoiceInstructions } from "../VoiceInstructions.ts"

/**
 * TwiML for live voice (protocols.md §3): `<Connect><ConversationRelay>` (or
 * `<Connect><Stream>` for Media Streams), `<Say>` + `<Hangup>` refusals,
 * `<Play>` voice messages, `<Dial>` transfers. Built with twilio-node's own
 * TwiML builder, so escaping and attribute names are the SDK's. The sandbox
 * carrier speaks the same documents.
 */
const { VoiceResponse } = twilio.twiml

const xml = (response: InstanceType<typeof VoiceResponse>): Instruction => ({
  contentType: "text/xml",
  body: response.toString()
})

export const connect = (req: ConnectRequest): Instruction => {
  const response = new VoiceResponse()
  if (req.record !== undefined) {
    response.start().recording({
      recordingStatusCallback: req.record.recordingStatusUrl,
      recordingStatusCallbackEvent: ["completed"],
      track: "both"
    })
  }
  const connectVerb = response.connect({ action: req.actionUrl, method: "POST" })
  if (req.mode === "media_stream") {
    // Media Streams plays nothing by itself: the announcement and greeting go first as <Say>
    if (req.announcement !== undefined) response.say(req.announcement)
    connectVerb.stream({ url: req.websocketUrl })
    return xml(response)
  }
  const greeting = req.announcement === undefined ? req.greeting : `${req.announcement} ${req.greeting}`
  connectVerb.conversationRelay({
    url: req.websocketUrl,
    welcomeGreeting: greeting,
    // the consent announcement must be heard in full; the greeting after it may be talked over
    welcomeGreetingInterruptible: req.announcement === undefined ? "any" : "none",
    interruptible: "any",
    dtmfDetection: true,
    language: req.language,
    ...(req.voice !== undefined ? { voice: req.voice } : {}),
    ...(req.ttsProvider !== undefined ? { ttsProvider: req.ttsProvider } : {}),
    ...(req.transcriptionProvider !== undefined ? { transcriptionProvider: req.transcriptionProvider } : {})
  })
  return xml(response)
}

export const sayAndHangUp = (text: string): Instruction => {
  const response = new VoiceResponse()
  response.say(text)
  response.hangup()
  return xml(response)
}

export const play = (req: { readonly audioUrl: string; readonly recordReply?: { readonly statusUrl: string } | undefined }) => {
  const response = new VoiceResponse()
  response.play(req.audioUrl)
  if (req.recordReply !== undefined) {
    response.record({ maxLength: 60, playBeep: true, recordingStatusCallback: req.recordReply.statusUrl })
  }
  response.hangup()
  return xml(response)
}

export const dial = (req: { readonly to: string; readonly callerId: string; readonly announcement?: string | undefined }) => {
  const response = new VoiceResponse()
  if (req.announcement !== undefined) response.say(req.announcement)
  response.dial({ callerId: req.callerId }, req.to)
  return xml(response)
}

export const hangUp = (): Instruction => {
  const response = new VoiceResponse()
  response.hangup()
  return xml(response)
}

export const TwilioVoiceInstructions = Layer.succeed(
  VoiceInstructions,
  VoiceInstructions.of({ connect, sayAndHangUp, play, dial, hangUp })
)
