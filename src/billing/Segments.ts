/**
 * SMS segment counting (3GPP TS 23.038 / 23.040), which is what carriers bill per.
 *
 * - GSM-7 when every character is in the GSM 03.38 default alphabet or its extension table:
 *   160 septets in a single message, 153 per segment once concatenated (the UDH takes 7).
 *   Extension-table characters (`^ { } \ [ ~ ] | €` and form feed) take 2 septets (ESC + char),
 *   and an escape pair is never split across two segments.
 * - UCS-2 otherwise (any other character, e.g. emoji, CJK, most accented letters outside the
 *   alphabet): 70 UTF-16 code units single, 67 per segment; a surrogate pair (one emoji, 2 units)
 *   is never split across two segments.
 *
 * An empty body is one segment (a message is still sent and billed).
 */

export type SmsEncoding = "GSM-7" | "UCS-2"

export interface SegmentCount {
  readonly encoding: SmsEncoding
  /** Billed segments, at least 1. */
  readonly segments: number
  /** Septets (GSM-7) or UTF-16 code units (UCS-2) of the whole text. */
  readonly units: number
}

/** The GSM 03.38 default alphabet (127 characters; the 128th code is the escape to the extension table). */
export const GSM7_BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
  "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

/** The GSM 03.38 extension table: each costs 2 septets. */
export const GSM7_EXTENSION = "\f^{}\\[~]|€"

export const GSM7_SINGLE = 160
export const GSM7_MULTI = 153
export const UCS2_SINGLE = 70
export const UCS2_MULTI = 67

const basic = new Set(GSM7_BASIC)
const extension = new Set(GSM7_EXTENSION)

/** Septets of one character in GSM-7 (1 or 2), or 0 when it cannot be encoded in GSM-7. */
export const gsm7Weight = (char: string): 0 | 1 | 2 => (basic.has(char) ? 1 : extension.has(char) ? 2 : 0)

/** True when the whole text fits the GSM-7 alphabet (with its extension table). */
export const isGsm7 = (text: string): boolean => {
  for (const char of text) if (gsm7Weight(char) === 0) return false
  return true
}

const weightOf = (encoding: SmsEncoding, char: string): number =>
  encoding === "GSM-7" ? gsm7Weight(char) : char.length /* 2 for a surrogate pair */

/**
 * Splits the text into the segments a carrier would send, greedily and without splitting an escape
 * pair or a surrogate pair. Always at least one (possibly empty) part; the parts concatenate to `text`.
 */
export const splitSegments = (text: string): ReadonlyArray<string> => {
  const encoding: SmsEncoding = isGsm7(text) ? "GSM-7" : "UCS-2"
  const single = encoding === "GSM-7" ? GSM7_SINGLE : UCS2_SINGLE
  const multi = encoding === "GSM-7" ? GSM7_MULTI : UCS2_MULTI
  let total = 0
  for (const char of text) total += weightOf(encoding, char)
  if (total <= single) return [text]
  const parts: Array<string> = []
  let current = ""
  let used = 0
  for (const char of text) {
    const w = weightOf(encoding, char)
    if (used + w > multi) {
      parts.push(current)
      current = ""
      used = 0
    }
    current += char
    used += w
  }
  parts.push(current)
  return parts
}

/** Encoding, billed segments and units of an SMS body. */
export const countSegments = (text: string): SegmentCount => {
  let gsm = true
  let septets = 0
  for (const char of text) {
    const w = gsm7Weight(char)
    if (w === 0) {
      gsm = false
      break
    }
    septets += w
  }
  if (gsm) {
    if (septets <= GSM7_SINGLE) return { encoding: "GSM-7", segments: 1, units: septets }
    // Without escape pairs the greedy split is exactly ceil(n / 153); with them it may need one more.
    return { encoding: "GSM-7", segments: splitSegments(text).length, units: septets }
  }
  if (text.length <= UCS2_SINGLE) return { encoding: "UCS-2", segments: 1, units: text.length }
  return { encoding: "UCS-2", segments: splitSegments(text).length, units: text.length }
}
