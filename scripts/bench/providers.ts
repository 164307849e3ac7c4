/**
 * Bench row: adapter overhead per send over the emulator floor. In one run, on one machine:
 * - floor: a bare `fetch` POST of the same form body to the Twilio emulator's Messages endpoint
 * - adapter: `Telephony.sendMessage`-equivalent through the Twilio adapter (official SDK, our HTTP
 *   client, error mapping) to the same emulator
 * Reports p50/p99 of each and the ratio adapter/floor. Entry: `runProvidersBench(count)`;
 * standalone: `node --import tsx scripts/bench/providers.ts [count]`.
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { AgentId } from "../../schema/Ids.ts"
import { makeTwilio } from "../../src/providers/twilio/TwilioAdapter.ts"
import { startTwilioEmulator } from "../../test/emulators/twilio/TwilioEmulator.ts"

const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0

export interface ProvidersBenchResult {
  readonly floor: { readonly p50: number; readonly p99: number }
  readonly adapter: { readonly p50: number; readonly p99: number }
  readonly ratioP50: number
  readonly ratioP99: number
}

export const runProvidersBench = async (count = 300): Promise<ProvidersBenchResult> => {
  const tw = await startTwilioEmulator()
  tw.callbacks = false
  try {
    const auth = "Basic " + Buffer.from(`${tw.accountSid}:${tw.authToken}`).toString("base64")
    const endpoint = `${tw.url}/2010-04-01/Accounts/${tw.accountSid}/Messages.json`
    const form = (i: number) =>
      new URLSearchParams({ To: "+12025550123", From: "+14155550100", Body: `bench ${i}`, StatusCallback: "http://127.0.0.1:9/cb" }).toString()
    const adapter = makeTwilio({ accountSid: tw.accountSid, authToken: Redacted.make(tw.authToken) }, { apiBaseUrl: tw.url, timeoutMs: 10_000 })
    const floorOnce = async (i: number) => {
      const res = await fetch(endpoint, {
        method: "POST",
        headers: { authorization: auth, "content-type": "application/x-www-form-urlencoded" },
        body: form(i)
      })
      await res.arrayBuffer()
    }
    const adapterOnce = (i: number) =>
      Effect.runPromise(adapter.sendMessage({
        agentId: AgentId.make("bench"), channel: "sms", from: "+14155550100", to: "+12025550123",
        body: `bench ${i}`, media: [], statusCallbackUrl: "http://127.0.0.1:9/cb"
      }))
    const time = async (f: (i: number) => Promise<unknown>) => {
      for (let i = 0; i < 20; i++) await f(i) // warm-up
      const out: Array<number> = []
      for (let i = 0; i < count; i++) {
        const t = performance.now()
        await f(i)
        out.push(performance.now() - t)
      }
      return out.sort((a, b) => a - b)
    }
    const f1 = await time(floorOnce)
    const a1 = await time(adapterOnce)
    const floor = { p50: percentile(f1, 50), p99: percentile(f1, 99) }
    const adapterStats = { p50: percentile(a1, 50), p99: percentile(a1, 99) }
    return {
      floor,
      adapter: adapterStats,
      ratioP50: adapterStats.p50 / floor.p50,
      ratioP99: adapterStats.p99 / floor.p99
    }
  } finally {
    await tw.close()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await runProvidersBench(Number(process.argv[2] ?? 300))
  const ms = (n: number) => n.toFixed(2)
  process.stdout.write(
    `providers: floor p50 ${ms(r.floor.p50)} ms p99 ${ms(r.floor.p99)} ms | twilio adapter p50 ${ms(r.adapter.p50)} ms ` +
      `p99 ${ms(r.adapter.p99)} ms | ratio p50 ${r.ratioP50.toFixed(2)}x p99 ${r.ratioP99.toFixed(2)}x\n`
  )
}
