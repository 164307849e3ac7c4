/**
 * The sandbox carrier reading the TwiML our webhooks answer with, as Twilio
 * would: only the verbs the voice path produces.
 */
const unescape = (s: string) =>
  s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, "\"").replace(/&apos;/g, "'").replace(/&amp;/g, "&")

const attrs = (tag: string): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const m of tag.matchAll(/([A-Za-z]+)="([^"]*)"/g)) out[m[1]!] = unescape(m[2]!)
  return out
}

export type SandboxVerb =
  | { readonly _tag: "Relay"; readonly url: string; readonly greeting: string; readonly action: string | undefined; readonly recording: string | undefined }
  | { readonly _tag: "Stream"; readonly url: string; readonly action: string | undefined }
  | { readonly _tag: "Play"; readonly url: string; readonly record: string | undefined }
  | { readonly _tag: "Say"; readonly text: string }
  | { readonly _tag: "Dial"; readonly to: string; readonly announcement: string | undefined }
  | { readonly _tag: "HangUp" }

/** The call-control decision of a TwiML document (the first verb that decides the call). */
export const readTwiml = (xml: string): SandboxVerb => {
  const relay = /<ConversationRelay\b[^>]*>/.exec(xml)
  const connect = /<Connect\b[^>]*>/.exec(xml)
  const recording = /<Recording\b[^>]*>/.exec(xml)
  if (relay !== null) {
    const a = attrs(relay[0])
    return {
      _tag: "Relay",
      url: a["url"] ?? "",
      greeting: a["welcomeGreeting"] ?? "",
      action: connect === null ? undefined : attrs(connect[0])["action"],
      recording: recording === null ? undefined : attrs(recording[0])["recordingStatusCallback"]
    }
  }
  const stream = /<Stream\b[^>]*>/.exec(xml)
  if (stream !== null) {
    return { _tag: "Stream", url: attrs(stream[0])["url"] ?? "", action: connect === null ? undefined : attrs(connect[0])["action"] }
  }
  const say = /<Say\b[^>]*>([^<]*)<\/Say>/.exec(xml)
  const dial = /<Dial\b[^>]*>([^<]*)<\/Dial>/.exec(xml)
  if (dial !== null) return { _tag: "Dial", to: unescape(dial[1]!.trim()), announcement: say === null ? undefined : unescape(say[1]!) }
  const play = /<Play\b[^>]*>([^<]*)<\/Play>/.exec(xml)
  if (play !== null) {
    const record = /<Record\b[^>]*>/.exec(xml)
    return { _tag: "Play", url: unescape(play[1]!.trim()), record: record === null ? undefined : attrs(record[0])["recordingStatusCallback"] }
  }
  if (say !== null) return { _tag: "Say", text: unescape(say[1]!) }
  return { _tag: "HangUp" }
}
