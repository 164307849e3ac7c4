import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { AppConfig } from "../src/config/AppConfig.ts"
import * as ElevenLabsTts from "../src/providers/elevenlabs/ElevenLabsTts.ts"
import * as LocalStorage from "../src/providers/localstorage/LocalStorage.ts"
import * as OpenAiChatLlm from "../src/providers/openai/OpenAiChatLlm.ts"
import * as OpenAiTts from "../src/providers/openai/OpenAiTts.ts"
import * as OrchestratorLlm from "../src/providers/orchestrator/OrchestratorLlm.ts"
import * as DeepgramStt from "../src/providers/deepgram/DeepgramStt.ts"
import { SandboxStt } from "../src/providers/sandbox/SandboxStt.ts"
import * as S3Storage from "../src/providers/s3/S3Storage.ts"
import * as SandboxLlm from "../src/providers/sandbox/SandboxLlm.ts"
import { SandboxTts } from "../src/providers/sandbox/SandboxTts.ts"
import { TwilioVoiceInstructions } from "../src/providers/twilio/VoiceTwiml.ts"
import { VoiceSettings } from "../src/voice/VoiceConfig.ts"

/**
 * The voice provider slots, chosen from config in this one place:
 * - LLM_PROVIDER: sandbox (default when nothing else is configured), openai
 *   (any OpenAI-compatible chat-completions server at LLM_BASE_URL; default when
 *   LLM_API_KEY is set), orchestrator (each turn POSTed to AGENTOS_CALLBACK_URL);
 * - TTS_PROVIDER: elevenlabs (default when ELEVENLABS_API_KEY is set), openai, sandbox;
 * - STT_PROVIDER (Media Streams path): deepgram (default when DEEPGRAM_API_KEY is set), sandbox;
 * - STORAGE_PROVIDER: local (DATA_DIR/media) or s3;
 * - the call-control documents are TwiML (Twilio and the sandbox carrier).
 */
export const VoiceProvidersLive = Layer.unwrapEffect(Effect.gen(function*() {
  const s = yield* VoiceSettings
  const config = yield* AppConfig

  const llmChoice = Option.getOrElse(s.llmProvider, () => (Option.isSome(s.llmApiKey) ? "openai" as const : "sandbox" as const))
  const llm = llmChoice === "openai"
    ? OpenAiChatLlm.layer({ baseUrl: s.llmBaseUrl, apiKey: Option.getOrUndefined(s.llmApiKey), model: s.llmModel })
    : llmChoice === "orchestrator"
    ? Option.match(config.callbackUrl, {
      onNone: () => Layer.die(new Error("LLM_PROVIDER=orchestrator needs AGENTOS_CALLBACK_URL")),
      onSome: (callbackUrl) => OrchestratorLlm.layer({ callbackUrl, secret: config.callbackSigningSecret })
    })
    : SandboxLlm.layer({ delayMs: s.sandboxLlmTokenDelayMs })

  const ttsChoice = Option.getOrElse(s.ttsProvider, () => (Option.isSome(s.elevenlabsApiKey) ? "elevenlabs" as const : "sandbox" as const))
  const tts = ttsChoice === "elevenlabs"
    ? Option.match(s.elevenlabsApiKey, {
      onNone: () => Layer.die(new Error("TTS_PROVIDER=elevenlabs needs ELEVENLABS_API_KEY")),
      onSome: (apiKey) =>
        ElevenLabsTts.layer({
          apiKey,
          baseUrl: s.elevenlabsBaseUrl,
          model: s.elevenlabsModel,
          defaultVoice: Option.getOrElse(s.defaultVoice, () => ElevenLabsTts.DEFAULT_VOICE)
        })
    })
    : ttsChoice === "openai"
    ? OpenAiTts.layer({
      baseUrl: Option.getOrElse(s.openaiTtsBaseUrl, () => s.llmBaseUrl),
      apiKey: Option.getOrUndefined(s.llmApiKey),
      model: s.openaiTtsModel,
      defaultVoice: Option.getOrElse(s.defaultVoice, () => "alloy")
    })
    : SandboxTts

  const storage = s.storageProvider === "s3"
    ? Option.match(Option.all([s.s3AccessKeyId, s.s3SecretAccessKey]), {
      onNone: () => Layer.die(new Error("STORAGE_PROVIDER=s3 needs S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY")),
      onSome: ([accessKeyId, secretAccessKey]) =>
        S3Storage.layer({
          endpoint: s.s3Endpoint,
          region: s.s3Region,
          bucket: s.s3Bucket,
          accessKeyId,
          secretAccessKey,
          forcePathStyle: s.s3ForcePathStyle
        })
    })
    : LocalStorage.layer(config.dataDir)

  const sttChoice = Option.getOrElse(s.sttProvider, () => (Option.isSome(s.deepgramApiKey) ? "deepgram" as const : "sandbox" as const))
  const stt = sttChoice === "deepgram"
    ? Option.match(s.deepgramApiKey, {
      onNone: () => Layer.die(new Error("STT_PROVIDER=deepgram needs DEEPGRAM_API_KEY")),
      onSome: (apiKey) =>
        DeepgramStt.layer({ apiKey, baseUrl: Option.getOrElse(s.deepgramBaseUrl, () => "https://api.deepgram.com"), model: s.deepgramModel })
    })
    : SandboxStt

  return Layer.mergeAll(llm, tts, stt, storage, TwilioVoiceInstructions)
})).pipe(Layer.provideMerge(VoiceSettings.Default))
