/**
 * Our server (src/main.ts) as a child process of the bench, with the
 * environment every section needs: known secrets, limits out of the way, TCPA
 * quiet hours off (so sends to a person never depend on the time of day),
 * callbacks to a receiver in the bench process.
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { type Child, freePort, spawnChild, waitForHttp200 } from "./child.ts"
import { cfg, type Mode } from "./config.ts"
import { startReceiver, type Receiver } from "./inbound.ts"
import { at, callTool, type Connected, describeError, stringField } from "./mcp.ts"
import { addNote } from "./report.ts"

/** How long our server may take to stop after SIGTERM before it is SIGKILLed (CPU profiles are written at exit). */
const SERVER_STOP_GRACE_MS = 10_000

export interface Server {
  readonly mode: Mode
  readonly child: Child
  readonly port: number
  /** http://127.0.0.1:<port> */
  readonly base: string
  /** The MCP endpoint. */
  readonly url: string
  readonly master: string
  /** The sandbox webhook signing key (Twilio-style signatures of inbound posts). */
  readonly sandboxToken: string
  readonly receiver: Receiver
  /** ms from spawn until /health answered 200. */
  readonly startupMs: number
}

export interface Provisioned {
  readonly agentId: string
  readonly token: string
  /** The agent's phone number (channels.phone.number). */
  readonly number: string | undefined
}

/**
 * Starts our server, runs `use`, then stops it (SIGTERM, then SIGKILL after a
 * grace) and notes how it stopped and what it logged. `bare` leaves the
 * environment at its defaults except what the bench needs to talk to it (the
 * RSS row: "no agents, after start").
 */
export const withServer = async <A>(
  opts: { readonly mode: Mode; readonly label: string; readonly poolSize?: number; readonly bare?: boolean },
  use: (server: Server) => Promise<A>
): Promise<A> => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "agentos-bench-"))
  const port = await freePort()
  const master = randomBytes(24).toString("base64url")
  const sandboxToken = randomBytes(24).toString("base64url")
  const signingSecret = `whsec_${randomBytes(32).toString("base64")}`
  const base = `http://127.0.0.1:${port}`
  const receiver = await startReceiver(signingSecret)
  const name = `agentos-comms (${opts.label}, ${opts.mode})`
  const limits = {
    DEFAULT_MAX_ACTIONS_PER_MINUTE: "1000000",
    DEFAULT_MAX_ACTIONS_PER_HOUR: "1000000",
    DEFAULT_MAX_ACTIONS_PER_DAY: "1000000",
    DEFAULT_MAX_SPEND_PER_DAY: "1000000",
    DEFAULT_MAX_SPEND_PER_MONTH: "1000000",
    DEFAULT_MAX_MESSAGES_PER_DAY_SAME_CONTACT: "1000000",
    AUTH_LOCKOUT_THRESHOLD: "100000",
    TCPA_QUIET_HOURS: "off"
  }
  let child: Child | undefined
  try {
    child = spawnChild(name, "src/main.ts", {
      PORT: String(port),
      HOST: "127.0.0.1",
      DATA_DIR: opts.mode === "memory" ? ":memory:" : path.join(tmp, "data"),
      MASTER_SECURITY_TOKEN: master,
      ADMIN_TOKEN: randomBytes(24).toString("base64url"),
      LOG_LEVEL: "WARN", // Effect labels: ALL FATAL ERROR WARN INFO DEBUG TRACE OFF
      SANDBOX_AUTH_TOKEN: sandboxToken,
      WEBHOOK_BASE_URL: base,
      AGENTOS_CALLBACK_URL: receiver.callbackUrl,
      CALLBACK_SIGNING_SECRET: signingSecret,
      ...(opts.bare === true ? {} : limits),
      ...(opts.poolSize === undefined ? {} : { INITIAL_AGENT_POOL_SIZE: String(opts.poolSize) })
    }, cfg.serverNodeArgs)
    const startupMs = await waitForHttp200(child, `${base}/health`, 60_000)
    const out = await use({
      mode: opts.mode,
      child,
      port,
      base,
      url: `${base}/mcp`,
      master,
      sandboxToken,
      receiver,
      startupMs
    })
    if (child.proc.exitCode !== null || child.proc.signalCode !== null) {
      throw new Error(`${name} exited during the run\n${child.tail()}`)
    }
    if (receiver.rejected() > 0 || receiver.repeats() > 0) {
      addNote(
        `${name}: callback receiver: ${receiver.rejected()} deliveries rejected (bad signature or not a message ` +
          `callback), ${receiver.repeats()} repeated webhook-ids`
      )
    }
    return out
  } catch (e) {
    const tail = child?.tail() ?? ""
    const message = e instanceof Error ? e.message : String(e)
    throw new Error(tail.length > 0 && !message.includes(tail) ? `${message}\n--- server output (tail) ---\n${tail}` : message)
  } finally {
    const stopped = await child?.kill(SERVER_STOP_GRACE_MS)
    await receiver.close()
    if (stopped?.forced === true) addNote(`${name}: DID NOT STOP within ${SERVER_STOP_GRACE_MS / 1000} s of SIGTERM: SIGKILLed`)
    if (child !== undefined) {
      const counts = [...child.lineCounts()].map(([k, v]) => `${v} ${k}`).join(", ")
      const events = [...child.events()].map(([k, v]) => `${JSON.stringify(k)}×${v}`).join(", ")
      if (counts.length > 0) addNote(`${name}: server output ${counts}` + (events.length > 0 ? `; events: ${events}` : ""))
    }
    fs.rmSync(tmp, { recursive: true, force: true })
  }
}

const provisionArgs = (agentId: string) => ({
  agentId,
  displayName: "Bench",
  greeting: "Hi",
  systemPrompt: "You are a bench agent",
  country: "US",
  capabilities: { phone: true, whatsapp: false, email: true, voiceAi: false }
})

/** `comms_provision_channels` over a client holding the master token; throws unless it returns a token. */
export const provision = async (c: Connected, agentId: string): Promise<Provisioned> => {
  const out = await callTool(c.client, "comms_provision_channels", provisionArgs(agentId))
  if (out.isError) throw new Error(`comms_provision_channels(${agentId}) returned isError: ${describeError(out.body)}`)
  const token = stringField(out.body, "securityToken")
  if (token === undefined) throw new Error(`comms_provision_channels(${agentId}) returned no securityToken: ${JSON.stringify(out.body)}`)
  const number = at(out.body, "channels", "phone", "number")
  return { agentId, token, number: typeof number === "string" ? number : undefined }
}

/** One `comms_send_message` (SMS) from `from`; throws unless the message is queued or sent. */
export const sendSms = async (c: Connected, from: Provisioned, to: string, body: string): Promise<void> => {
  const out = await callTool(c.client, "comms_send_message", {
    agentId: from.agentId,
    securityToken: from.token,
    to,
    channel: "sms",
    body
  })
  if (out.isError) throw new Error(`comms_send_message(from ${from.agentId}) returned isError: ${describeError(out.body)}`)
  const status = stringField(out.body, "status")
  if (status !== "queued" && status !== "sent") {
    throw new Error(
      `comms_send_message(from ${from.agentId}) answered status ${JSON.stringify(status)} (expected "queued" or "sent"; ` +
        `are the bench's DEFAULT_MAX_* limits applied?): ${JSON.stringify(out.body)}`
    )
  }
}
