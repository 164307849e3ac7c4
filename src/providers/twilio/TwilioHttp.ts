import twilio from "twilio"
import type ResponseModule from "twilio/lib/http/response.js"

/** The SDK's response shape (a plain object satisfies it; the class itself is not needed). */
type TwilioResponse<T> = InstanceType<typeof ResponseModule.default<T>>

/**
 * The HTTP client the Twilio SDK calls through (its documented `httpClient` option): plain `fetch`,
 * optionally aimed at another origin (`baseUrl`, e.g. a local emulator; paths are kept, so
 * `https://api.twilio.com/2010-04-01/…` becomes `<baseUrl>/2010-04-01/…`). It also classifies the
 * failures the SDK would otherwise flatten, so the adapter can tell "not sent" from "maybe sent":
 * unreachable/5xx → `TwilioTransportError("unavailable")`, a timeout after the request left →
 * `("unknown_outcome")`, 429 → `("throttled", retryAfterSeconds)`.
 */
export class TwilioTransportError extends Error {
  constructor(
    readonly kind: "unavailable" | "unknown_outcome" | "throttled",
    readonly status: number | undefined,
    readonly retryAfterSeconds: number | undefined = undefined
  ) {
    super(`twilio transport: ${kind}${status !== undefined ? ` (HTTP ${status})` : ""}`)
  }
}

const CONNECT_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ECONNRESET", "UND_ERR_CONNECT_TIMEOUT", "EHOSTUNREACH"])

const causeCode = (e: unknown): string | undefined => {
  const cause = typeof e === "object" && e !== null && "cause" in e ? (e as { cause: unknown }).cause : undefined
  return typeof cause === "object" && cause !== null && "code" in cause ? String((cause as { code: unknown }).code) : undefined
}

const formBody = (data: unknown): string => {
  const form = new URLSearchParams()
  if (typeof data === "object" && data !== null) {
    for (const [key, value] of Object.entries(data)) {
      if (value === undefined) continue
      for (const v of Array.isArray(value) ? value : [value]) form.append(key, String(v))
    }
  }
  return form.toString()
}

export class TwilioHttpClient extends twilio.RequestClient {
  constructor(private readonly baseUrl: string | undefined, private readonly timeoutMs: number) {
    super({})
  }

  override async request<TData>(opts: Parameters<twilio.RequestClient["request"]>[0]): Promise<TwilioResponse<TData>> {
    const target = new URL(opts.uri)
    const url = new URL(this.baseUrl !== undefined ? `${this.baseUrl.replace(/\/+$/, "")}${target.pathname}` : opts.uri)
    for (const [k, v] of Object.entries(opts.params ?? {})) {
      if (v !== undefined) url.searchParams.append(k, String(v))
    }
    if (this.baseUrl === undefined) url.search = target.search + (url.search === "" ? "" : url.search.replace(/^\?/, "&"))
    const headers: Record<string, string> = {}
    for (const [k, v] of Object.entries(opts.headers ?? {})) if (typeof v === "string") headers[k] = v
    if (opts.username !== undefined && opts.password !== undefined) {
      headers["Authorization"] = "Basic " + Buffer.from(`${opts.username}:${opts.password}`).toString("base64")
    }
    const method = opts.method.toUpperCase()
    const hasBody = method === "POST" || method === "PUT"
    if (hasBody && headers["Content-Type"] === undefined) headers["Content-Type"] = "application/x-www-form-urlencoded"
    let res: globalThis.Response
    try {
      res = await fetch(url, {
        method,
        headers,
        ...(hasBody ? { body: formBody(opts.data) } : {}),
        redirect: "manual",
        signal: AbortSignal.timeout(opts.timeout ?? this.timeoutMs)
      })
    } catch (e) {
      const code = causeCode(e)
      throw new TwilioTransportError(code !== undefined && CONNECT_CODES.has(code) ? "unavailable" : "unknown_outcome", undefined)
    }
    const text = await res.text().catch(() => "")
    if (res.status === 429) {
      const after = Number(res.headers.get("retry-after") ?? "")
      throw new TwilioTransportError("throttled", 429, Number.isFinite(after) && after > 0 ? after : undefined)
    }
    if (res.status >= 500) throw new TwilioTransportError("unavailable", res.status)
    let body: unknown = text
    try {
      body = text === "" ? {} : JSON.parse(text)
    } catch {
      // not JSON: the SDK gets the text
    }
    // the SDK's Response is generic over the payload it expects; the JSON is whatever the API answered
    const response: TwilioResponse<TData> = {
      statusCode: res.status,
      body: body as TData,
      headers: Object.fromEntries(res.headers.entries()),
      toString: () => `HTTP ${res.status}`
    }
    return response
  }
}
