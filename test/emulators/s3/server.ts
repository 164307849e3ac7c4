import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import S3rver from "s3rver"

/** A local S3 server (s3rver, from npm) on a free loopback port, with one bucket; nothing leaves the machine. */
export const startS3 = async (bucket: string) => {
  const directory = mkdtempSync(join(tmpdir(), "s3-emulator-"))
  const server = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory, configureBuckets: [{ name: bucket }] })
  const { port } = await server.run()
  return {
    endpoint: `http://127.0.0.1:${port}`,
    // s3rver accepts these fixed credentials
    accessKeyId: "S3RVER",
    secretAccessKey: "S3RVER",
    close: async () => {
      await server.close()
      rmSync(directory, { recursive: true, force: true })
    }
  }
}
