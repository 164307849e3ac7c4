/**
 * Vendor-neutral email helpers for inbound-mail decoders: RFC 5322 address lists, a small MIME reader
 * (headers, encoded words, the first text/plain part) and an HTML → text fallback. Total on any input.
 */

const MAX_HEADER_BLOCK = 256 * 1024

// --- addresses --------------------------------------------------------------------------------------------

/** Splits an address list on commas outside quotes, angle brackets and comments. */
const splitAddressList = (value: string): Array<string> => {
  const out: Array<string> = []
  let current = ""
  let quoted = false
  let angle = 0
  let comment = 0
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!
    if (quoted) {
      if (c === "\\" && i + 1 < value.length) {
        current += c + value[++i]
        continue
      }
      if (c === "\"") quoted = false
    } else if (c === "\"") quoted = true
    else if (c === "(") comment++
    else if (c === ")" && comment > 0) comment--
    else if (c === "<" && comment === 0) angle++
    else if (c === ">" && angle > 0) angle--
    else if (c === "," && angle === 0 && comment === 0) {
      out.push(current)
      current = ""
      continue
    }
    current += c
  }
  out.push(current)
  return out
}

const BARE_ADDRESS = /^[^\s@<>(),;:"\\[\]]+@[^\s@<>(),;:"\\[\]]+$/

/** `"Alice" <alice@example.com>` → `alice@example.com`; undefined when there is no plausible address. */
const bareAddress = (mailbox: string): string | undefined => {
  const open = mailbox.lastIndexOf("<")
  const close = mailbox.indexOf(">", open + 1)
  const candidate = (open !== -1 && close !== -1 ? mailbox.slice(open + 1, close) : mailbox.replace(/\([^()]*\)/g, ""))
    .trim()
    .replace(/^mailto:/i, "")
  return candidate.length <= 320 && BARE_ADDRESS.test(candidate) ? candidate : undefined
}

export const firstAddress = (value: string | undefined): string | undefined => {
  if (value === undefined || value.length > 64 * 1024) return undefined
  for (const mailbox of splitAddressList(value)) {
    const address = bareAddress(mailbox)
    if (address !== undefined) return address
  }
  return undefined
}

// --- MIME (raw mode) --------------------------------------------------------------------------------------

export const splitHeaderBody = (raw: string): { head: string; body: string } => {
  if (raw.startsWith("\r\n")) return { head: "", body: raw.slice(2) }
  if (raw.startsWith("\n")) return { head: "", body: raw.slice(1) }
  const crlf = raw.indexOf("\r\n\r\n")
  const lf = raw.indexOf("\n\n")
  if (crlf === -1 && lf === -1) return { head: raw, body: "" }
  return crlf !== -1 && (lf === -1 || crlf < lf)
    ? { head: raw.slice(0, crlf), body: raw.slice(crlf + 4) }
    : { head: raw.slice(0, lf), body: raw.slice(lf + 2) }
}

/** Header block → lowercase name → first value (continuation lines unfolded). */
export const parseHeaderBlock = (head: string): Map<string, string> => {
  const headers = new Map<string, string>()
  let name: string | undefined
  let value = ""
  const flush = () => {
    if (name !== undefined && !headers.has(name)) headers.set(name, value.trim())
  }
  for (const line of head.slice(0, MAX_HEADER_BLOCK).split(/\r?\n/)) {
    if ((line.startsWith(" ") || line.startsWith("\t")) && name !== undefined) {
      value += " " + line.trim()
      continue
    }
    flush()
    const colon = line.indexOf(":")
    if (colon <= 0) {
      name = undefined
      continue
    }
    name = line.slice(0, colon).trim().toLowerCase()
    value = line.slice(colon + 1)
  }
  flush()
  return headers
}

const parseContentType = (value: string): { type: string; params: Map<string, string> } => {
  const semi = value.indexOf(";")
  const type = (semi === -1 ? value : value.slice(0, semi)).trim().toLowerCase()
  const params = new Map<string, string>()
  if (semi !== -1) {
    const re = /;\s*([^=;\s]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)/g
    for (const m of value.slice(semi).matchAll(re)) {
      const key = m[1]!.toLowerCase()
      const raw = m[2]!.trim()
      const v = raw.startsWith("\"") ? raw.slice(1, -1).replace(/\\(.)/g, "$1") : raw
      if (!params.has(key)) params.set(key, v)
    }
  }
  return { type, params }
}

const decodeBytes = (bytes: Uint8Array, charset: string | undefined): string => {
  const label = (charset ?? "utf-8").split("*")[0]!.trim() || "utf-8"
  try {
    return new TextDecoder(label).decode(bytes)
  } catch {
    return new TextDecoder("utf-8").decode(bytes)
  }
}

/** Quoted-printable (or RFC 2047 "Q" with `underscore`) → bytes. Characters above 0xFF pass as UTF-8. */
const quotedPrintableBytes = (s: string, underscore: boolean): Uint8Array => {
  let out = new Uint8Array(s.length + 16)
  let n = 0
  const push = (b: number) => {
    if (n === out.length) {
      const grown = new Uint8Array(out.length * 2)
      grown.set(out)
      out = grown
    }
    out[n++] = b
  }
  const isHex = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102)
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i)
    if (code === 61 /* = */) {
      if (i + 2 < s.length && isHex(s.charCodeAt(i + 1)) && isHex(s.charCodeAt(i + 2))) {
        push(parseInt(s.slice(i + 1, i + 3), 16))
        i += 2
        continue
      }
      if (s.startsWith("\r\n", i + 1)) {
        i += 2
        continue
      }
      if (s[i + 1] === "\n") {
        i += 1
        continue
      }
    }
    if (underscore && code === 95 /* _ */) {
      push(0x20)
      continue
    }
    if (code < 0x100) {
      push(code)
      continue
    }
    const point = s.codePointAt(i) ?? code
    const char = String.fromCodePoint(point)
    for (const b of Buffer.from(char, "utf8")) push(b)
    i += char.length - 1
  }
  return out.subarray(0, n)
}

/** RFC 2047 encoded words (`=?UTF-8?B?...?=`) in a header value → text. */
export const decodeEncodedWords = (value: string): string =>
  value
    .replace(/(\?=)\s+(?==\?)/g, "$1")
    .replace(/=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g, (_, charset: string, encoding: string, text: string) =>
      decodeBytes(
        encoding.toUpperCase() === "B" ? Buffer.from(text, "base64") : quotedPrintableBytes(text, true),
        charset
      )
    )

const decodeBody = (body: string, headers: Map<string, string>, charset: string | undefined): string => {
  const encoding = (headers.get("content-transfer-encoding") ?? "").trim().toLowerCase()
  if (encoding === "base64") return decodeBytes(Buffer.from(body.replace(/\s+/g, ""), "base64"), charset)
  if (encoding === "quoted-printable") return decodeBytes(quotedPrintableBytes(body, false), charset)
  return body
}

/** The first non-attachment text/plain part, looking into nested multiparts up to depth 4. */
export const textPlainOf = (headers: Map<string, string>, body: string, depth: number): string | undefined => {
  const ct = parseContentType(headers.get("content-type") ?? "text/plain")
  if ((headers.get("content-disposition") ?? "").trim().toLowerCase().startsWith("attachment")) return undefined
  if (ct.type === "text/plain") return decodeBody(body, headers, ct.params.get("charset"))
  const boundary = ct.params.get("boundary")
  if (!ct.type.startsWith("multipart/") || boundary === undefined || boundary === "" || depth >= 4) return undefined
  const delimiter = `--${boundary}`
  let at = body.indexOf(delimiter)
  while (at !== -1) {
    const lineEnd = body.indexOf("\n", at)
    if (body.startsWith("--", at + delimiter.length) || lineEnd === -1) return undefined
    const next = body.indexOf(delimiter, lineEnd)
    const content = (next === -1 ? body.slice(lineEnd + 1) : body.slice(lineEnd + 1, next)).replace(/\r?\n$/, "")
    const part = splitHeaderBody(content)
    const found = textPlainOf(parseHeaderBlock(part.head), part.body, depth + 1)
    if (found !== undefined) return found
    at = next
  }
  return undefined
}

// --- HTML fallback ----------------------------------------------------------------------------------------

const ENTITIES: Readonly<Record<string, string>> = { amp: "&", lt: "<", gt: ">", quot: "\"", apos: "'", nbsp: " " }

/** A linear-time, tag-stripping HTML → text used only when an email has no text part. */
export const htmlToText = (html: string): string => {
  let out = ""
  let i = 0
  let lower: string | undefined
  while (i < html.length) {
    const lt = html.indexOf("<", i)
    if (lt === -1) {
      out += html.slice(i)
      break
    }
    out += html.slice(i, lt)
    const gt = html.indexOf(">", lt + 1)
    if (gt === -1) break
    const tag = /^<\/?\s*([a-zA-Z0-9]+)/.exec(html.slice(lt, Math.min(gt + 1, lt + 40)))?.[1]?.toLowerCase()
    const closing = html[lt + 1] === "/"
    if (!closing && (tag === "script" || tag === "style")) {
      lower ??= html.toLowerCase()
      const end = lower.indexOf(`</${tag}`, gt + 1)
      const endGt = end === -1 ? -1 : html.indexOf(">", end)
      i = endGt === -1 ? html.length : endGt + 1
      continue
    }
    if (tag === "br" || tag === "p" || tag === "div" || tag === "li" || tag === "tr" || /^h[1-6]$/.test(tag ?? "")) {
      out += "\n"
    }
    i = gt + 1
  }
  return out
    .replace(/&(#x[0-9a-fA-F]{1,6}|#\d{1,7}|[a-zA-Z]{2,6});/g, (whole, e: string) => {
      if (e.startsWith("#")) {
        const code = e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)
        return code > 0 && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff) ? String.fromCodePoint(code) : whole
      }
      return ENTITIES[e.toLowerCase()] ?? whole
    })
    .split("\n")
    .map((line) => line.trimEnd())
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim()
}
