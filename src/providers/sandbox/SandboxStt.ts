import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { mulawToPcm16 } from "../../voice/Audio.ts"
import { Stt, type Transcript } from "../Stt.ts"

/** 20 ms frames quieter than this (mean |sample|) are silence. */
const SILENCE = 200
/** An utterance ends after this much silence. */
const END_OF_UTTERANCE_MS = 400

/**
 * Sandbox STT: no recognition, but real voice-activity detection on the μ-law
 * frames — each stretch of sound followed by 400 ms of silence becomes one
 * final transcript "(speech N.N s)", with a non-final one when sound starts
 * (what barge-in reacts to).
 */
export const SandboxStt = Layer.succeed(
  Stt,
  Stt.of({
    provider: "sandbox",
    transcribe: (audio) =>
      audio.pipe(
        Stream.mapAccum({ speechMs: 0, silenceMs: 0 }, (s, frame): [{ speechMs: number; silenceMs: number }, Option.Option<Transcript>] => {
          const pcm = mulawToPcm16(frame)
          const level = pcm.reduce((sum, x) => sum + Math.abs(x), 0) / Math.max(1, pcm.length)
          const ms = frame.length / 8
          if (level >= SILENCE) {
            const started = s.speechMs === 0
            return [{ speechMs: s.speechMs + ms, silenceMs: 0 }, started ? Option.some({ text: "…", final: false }) : Option.none()]
          }
          if (s.speechMs > 0 && s.silenceMs + ms >= END_OF_UTTERANCE_MS) {
            return [{ speechMs: 0, silenceMs: 0 }, Option.some({ text: `(speech ${(s.speechMs / 1000).toFixed(1)} s)`, final: true })]
          }
          return [{ speechMs: s.speechMs, silenceMs: s.speechMs > 0 ? s.silenceMs + ms : 0 }, Option.none()]
        }),
        Stream.filterMap((t) => t)
      )
  })
)
