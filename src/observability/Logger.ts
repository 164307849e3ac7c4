import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as List from "effect/List"
import * as Logger from "effect/Logger"

/**
 * Keys whose values must never reach a log line. Code never logs them on
 * purpose; this is the safety net if an annotation slips through.
 */
const PII_KEY = /phone|number|email|address|body|token|secret|password|authorization|from|to$|subject|prompt|greeting/i

const scrub = (key: string, value: unknown): unknown => (PII_KEY.test(key) ? "[redacted]" : value)

const messageText = (message: unknown): string => {
  if (Array.isArray(message)) return message.map((m) => (typeof m === "string" ? m : JSON.stringify(m))).join(" ")
  return typeof message === "string" ? message : JSON.stringify(message)
}

/**
 * One JSON object a line: level, timestamp, event (the message), fiber, span
 * names and the log annotations (agentId, channel, durationMs, …), scrubbed.
 */
const jsonLineLogger = (write: (line: string) => void) =>
  Logger.make(({ annotations, cause, date, logLevel, message, spans }) => {
    const entry: Record<string, unknown> = {
      level: logLevel.label.toLowerCase(),
      timestamp: date.toISOString(),
      event: messageText(message)
    }
    for (const [k, v] of HashMap.toEntries(annotations)) entry[k] = scrub(k, v)
    const spanNames = List.toArray(spans).map((s) => s.label)
    if (spanNames.length > 0) entry["spans"] = spanNames
    if (cause._tag !== "Empty") entry["cause"] = cause._tag === "Die" ? "defect" : cause._tag
    write(JSON.stringify(entry) + "\n")
  })

/** JSON logs on stdout (HTTP mode). */
export const JsonLoggerStdout = Logger.replace(
  Logger.defaultLogger,
  jsonLineLogger((line) => process.stdout.write(line))
)

/** JSON logs on stderr: stdio mode, where stdout belongs to the MCP stream. */
export const JsonLoggerStderr = Logger.replace(
  Logger.defaultLogger,
  jsonLineLogger((line) => process.stderr.write(line))
)

export const LoggerLive = (stdio: boolean): Layer.Layer<never> => (stdio ? JsonLoggerStderr : JsonLoggerStdout)
