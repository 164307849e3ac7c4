/**
 * Telephony audio: G.711 μ-law, 8 kHz, mono (protocols.md §9). Encoding,
 * resampling and the WAV container are the maintained codec libraries'
 * (`alawmulaw`, `wavefile`), not hand-written.
 */
import alawmulaw from "alawmulaw"
import wavefile from "wavefile"

const { WaveFile } = wavefile

export const TELEPHONY_RATE = 8000
/** 20 ms of μ-law at 8 kHz: one Media Streams frame. */
export const FRAME_BYTES = 160

/** Headerless μ-law bytes → a WAV file (format tag 7, 8 kHz, 8-bit, mono). */
export const mulawToWav = (mulaw: Uint8Array): Uint8Array => {
  const wav = new WaveFile()
  wav.fromScratch(1, TELEPHONY_RATE, "8m", mulaw)
  return wav.toBuffer()
}

/** 16-bit linear PCM at any rate → headerless μ-law at 8 kHz. */
export const pcm16ToMulaw8k = (pcm: Int16Array, sampleRate: number): Uint8Array => {
  let samples = pcm
  if (sampleRate !== TELEPHONY_RATE) {
    const wav = new WaveFile()
    wav.fromScratch(1, sampleRate, "16", pcm)
    wav.toSampleRate(TELEPHONY_RATE, { method: "sinc" })
    samples = Int16Array.from(wav.getSamples(false, Int16Array))
  }
  return alawmulaw.mulaw.encode(samples)
}

/** Little-endian 16-bit PCM bytes (what vendors return as `pcm`) → samples. */
export const pcm16FromBytes = (bytes: Uint8Array): Int16Array => {
  const even = bytes.length - (bytes.length % 2)
  const view = new DataView(bytes.buffer, bytes.byteOffset, even)
  const out = new Int16Array(even / 2)
  for (let i = 0; i < out.length; i++) out[i] = view.getInt16(i * 2, true)
  return out
}

export const mulawToPcm16 = (mulaw: Uint8Array): Int16Array => alawmulaw.mulaw.decode(mulaw)

/**
 * A tone of `seconds` (a soft two-note chime, then quiet) as μ-law 8 kHz — what the
 * sandbox TTS "says": a real, playable signal of the right length.
 */
export const toneMulaw = (seconds: number): Uint8Array => {
  const n = Math.max(1, Math.round(seconds * TELEPHONY_RATE))
  const pcm = new Int16Array(n)
  for (let i = 0; i < n; i++) {
    const t = i / TELEPHONY_RATE
    const freq = Math.floor(t * 4) % 2 === 0 ? 440 : 554
    pcm[i] = Math.round(2000 * Math.sin(2 * Math.PI * freq * t) * Math.exp(-3 * (t % 0.25)))
  }
  return alawmulaw.mulaw.encode(pcm)
}

export interface WavInfo {
  readonly audioFormat: number
  readonly sampleRate: number
  readonly channels: number
  readonly bitsPerSample: number
  readonly dataBytes: number
  readonly durationSeconds: number
}

/** Reads a WAV header (throws on anything that is not a RIFF/WAVE file). */
export const readWav = (bytes: Uint8Array): WavInfo => {
  const wav = new WaveFile(bytes)
  const fmt = wav.fmt as { audioFormat: number; sampleRate: number; numChannels: number; bitsPerSample: number; byteRate: number }
  const data = wav.data as { chunkSize: number }
  return {
    audioFormat: fmt.audioFormat,
    sampleRate: fmt.sampleRate,
    channels: fmt.numChannels,
    bitsPerSample: fmt.bitsPerSample,
    dataBytes: data.chunkSize,
    durationSeconds: data.chunkSize / fmt.byteRate
  }
}

/** Splits audio into `size`-byte frames (the last one may be shorter). */
export const frames = (bytes: Uint8Array, size: number = FRAME_BYTES): ReadonlyArray<Uint8Array> => {
  const out: Array<Uint8Array> = []
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size))
  return out
}
