/**
 * Preloaded (`--import`) into every server child of `npm run bench`: answers
 * the bench's IPC message "usage" with this process's `process.cpuUsage()` and
 * `process.memoryUsage()`, so the server's CPU and RSS are read from inside it
 * (µs resolution) rather than from outside. The IPC channel is unref'd: it
 * never keeps the server alive.
 */
interface UsageReply {
  readonly probe: "usage"
  readonly cpuUs: number
  readonly rss: number
  readonly heapUsed: number
}

if (process.send !== undefined) {
  process.on("message", (m: unknown) => {
    if (m !== "usage" || process.send === undefined) return
    const cpu = process.cpuUsage()
    const mem = process.memoryUsage()
    const reply: UsageReply = { probe: "usage", cpuUs: cpu.user + cpu.system, rss: mem.rss, heapUsed: mem.heapUsed }
    process.send(reply)
  })
  process.channel?.unref()
}

export {}
