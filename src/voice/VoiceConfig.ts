import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"

const positiveNumber = (name: string, fallback: number) =>
  Config.number(name).pipe(
    Config.validate({ message: "expected a number > 0", validation: (n) => n > 0 }),
    Config.withDefault(fallback)
  )

const httpUrl = (name: string) =>
  Config.string(name).pipe(
    Config.validate({
      message: "expected an absolute http(s) URL",
      validation: (s) => {
        try {
          const u = new URL(s)
          return u.protocol === "http:" || u.protocol === "https:"
        } catch {
          return false
        }
      }
    }),
    Config.map((s) => s.replace(/\/+$/, ""))
  )

/**
 * Live voice settings, read once when the voice layers are built. Vendors are
 * chosen in `layers/Voice.ts` from `LLM_PROVIDER`, `TTS_PROVIDER`,
 * `STT_PROVIDER`, `STORAGE_PROVIDER` and `VOICE_ORCHESTRATOR`.
 */
export const voiceConfig = Config.all({
  llmProvider: Config.literal("sandbox", "openai", "orchestrator")("LLM_PROVIDER").pipe(Config.option),
  llmBaseUrl: httpUrl("LLM_BASE_URL").pipe(Config.withDefault("https://api.openai.com/v1")),
  llmApiKey: Config.redacted("LLM_API_KEY").pipe(Config.option),
  llmModel: Config.string("LLM_MODEL").pipe(Config.withDefault("gpt-4o-mini")),
  /** Sandbox LLM: delay between streamed words (0 = instant). */
  sandboxLlmTokenDelayMs: Config.integer("SANDBOX_LLM_TOKEN_DELAY_MS").pipe(Config.withDefault(15)),
  ttsProvider: Config.literal("sandbox", "elevenlabs", "openai")("TTS_PROVIDER").pipe(Config.option),
  elevenlabsApiKey: Config.redacted("ELEVENLABS_API_KEY").pipe(Config.option),
  elevenlabsBaseUrl: httpUrl("ELEVENLABS_BASE_URL").pipe(Config.withDefault("https://api.elevenlabs.io")),
  elevenlabsModel: Config.string("ELEVENLABS_MODEL").pipe(Config.withDefault("eleven_multilingual_v2")),
  openaiTtsBaseUrl: httpUrl("OPENAI_TTS_BASE_URL").pipe(Config.option),
  openaiTtsModel: Config.string("OPENAI_TTS_MODEL").pipe(Config.withDefault("gpt-4o-mini-tts")),
  sttProvider: Config.literal("sandbox", "deepgram")("STT_PROVIDER").pipe(Config.option),
  deepgramApiKey: Config.redacted("DEEPGRAM_API_KEY").pipe(Config.option),
  deepgramBaseUrl: httpUrl("DEEPGRAM_BASE_URL").pipe(Config.option),
  deepgramModel: Config.string("DEEPGRAM_MODEL").pipe(Config.withDefault("nova-3")),
  storageProvider: Config.literal("local", "s3")("STORAGE_PROVIDER").pipe(Config.withDefault("local" as const)),
  s3Endpoint: httpUrl("S3_ENDPOINT").pipe(Config.option),
  s3Region: Config.string("S3_REGION").pipe(Config.withDefault("us-east-1")),
  s3Bucket: Config.string("S3_BUCKET").pipe(Config.withDefault("agentos-comms")),
  s3AccessKeyId: Config.string("S3_ACCESS_KEY_ID").pipe(Config.option),
  s3SecretAccessKey: Config.redacted("S3_SECRET_ACCESS_KEY").pipe(Config.option),
  s3ForcePathStyle: Config.boolean("S3_FORCE_PATH_STYLE").pipe(Config.withDefault(true)),
  orchestrator: Config.literal("conversation_relay", "media_streams")("VOICE_ORCHESTRATOR").pipe(
    Config.withDefault("conversation_relay" as const)
  ),
  defaultVoice: Config.string("DEFAULT_TTS_VOICE").pipe(Config.option),
  language: Config.string("VOICE_LANGUAGE").pipe(Config.withDefault("en-US")),
  /** Cap of an inbound call in minutes (fractions allowed); the agent's maxCallDurationMinutes still applies. */
  inboundMaxMinutes: positiveNumber("INBOUND_CALL_MAX_MINUTES", 30),
  /** Seconds a voice-ws token stays valid after the call was answered. */
  wsTokenTtlSeconds: positiveNumber("VOICE_WS_TOKEN_TTL_SECONDS", 120),
  /** Seconds a signed /media URL (voice messages, recordings) stays valid. */
  mediaUrlTtlSeconds: positiveNumber("MEDIA_URL_TTL_SECONDS", 3600),
})

export type VoiceConfig = Config.Config.Success<typeof voiceConfig>

/** The voice settings as a service (read once). */
export class VoiceSettings extends Effect.Service<VoiceSettings>()("app/voice/VoiceSettings", {
  effect: Effect.map(voiceConfig, (c) => ({ ...c, llmApiKeyPresent: Option.isSome(c.llmApiKey) }))
}) {}
