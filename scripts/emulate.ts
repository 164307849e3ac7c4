/**
 * Runs the Twilio and SendGrid emulators on loopback and prints the environment that points the
 * live stack at them, so a person can run DEMO_MODE=false end to end on one machine:
 *
 *   node --import tsx scripts/emulate.ts            # prints `export …` lines, keeps running
 *   eval "$(node --import tsx scripts/emulate.ts --env-only)"   # (in another shell: copy the lines)
 *   DEMO_MODE=false … npm start
 *
 * Status callbacks and inbound messages are posted to the URLs the server configured (the number's
 * SmsUrl, each message's StatusCallback). Type `sms <to> <from> <text>` on stdin to deliver an
 * inbound SMS to one of the emulated numbers, `events <url>` to post a signed `delivered` event
 * for every email sent so far. Ctrl-C stops.
 */
import { randomBytes } from "node:crypto"
import { createInterface } from "node:readline"
import { startSendGridEmulator } from "../test/emulators/sendgrid/SendGridEmulator.ts"
import { startTwilioEmulator } from "../test/emulators/twilio/TwilioEmulator.ts"

const tw = await startTwilioEmulator()
const sg = await startSendGridEmulator()

const env: Record<string, string> = {
  DEMO_MODE: "false",
  TWILIO_ACCOUNT_SID: tw.accountSid,
  TWILIO_AUTH_TOKEN: tw.authToken,
  TWILIO_API_BASE_URL: tw.url,
  SENDGRID_API_KEY: sg.apiKey,
  SENDGRID_API_BASE_URL: sg.url,
  SENDGRID_EVENT_VERIFICATION_KEY: sg.verificationKey,
  SENDGRID_INBOUND_DOMAIN: "agents.emulated.test",
  MASTER_SECURITY_TOKEN: randomBytes(24).toString("base64url"),
  ADMIN_TOKEN: randomBytes(24).toString("base64url"),
  CREDENTIALS_ENCRYPTION_KEY: randomBytes(32).toString("hex"),
  CALLBACK_SIGNING_SECRET: "whsec_" + randomBytes(32).toString("base64"),
  INBOUND_EMAIL_SECRET: randomBytes(24).toString("base64url"),
  MEDIA_FETCH_ALLOW_PRIVATE: "true"
}
for (const [k, v] of Object.entries(env)) process.stdout.write(`export ${k}='${v}'\n`)
process.stderr.write(`twilio emulator ${tw.url}, sendgrid emulator ${sg.url}; Ctrl-C to stop\n`)

const rl = createInterface({ input: process.stdin })
rl.on("line", (line) => {
  const [cmd, ...args] = line.trim().split(/\s+/)
  if (cmd === "sms" && args.length >= 3) {
    void tw.inboundSms(args[0]!, args[1]!, args.slice(2).join(" ")).then(
      (status) => process.stderr.write(`inbound sms answered ${status}\n`),
      (e: unknown) => process.stderr.write(`inbound sms failed: ${String(e)}\n`)
    )
  } else if (cmd === "events" && args[0] !== undefined) {
    const events = sg.sent.map((m) => ({
      email: m.body.personalizations[0]?.to[0]?.email ?? "",
      event: "delivered",
      sg_message_id: `${m.messageId}.filter0001`,
      timestamp: Math.floor(Date.now() / 1000)
    }))
    void sg.postEvents(args[0], events).then((status) => process.stderr.write(`events answered ${status}\n`))
  }
})
const stop = () => void Promise.all([tw.close(), sg.close()]).then(() => process.exit(0))
process.on("SIGINT", stop)
process.on("SIGTERM", stop)
