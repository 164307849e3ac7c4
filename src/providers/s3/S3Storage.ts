import { DeleteObjectCommand, GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client } from "@aws-sdk/client-s3"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { ProviderError } from "../ProviderError.ts"
import { Storage } from "../Storage.ts"

export interface S3Options {
  /** S3-compatible endpoint (R2, MinIO, Supabase Storage, a local server); none = AWS. */
  readonly endpoint: Option.Option<string>
  readonly region: string
  readonly bucket: string
  readonly accessKeyId: string
  readonly secretAccessKey: Redacted.Redacted
  readonly forcePathStyle: boolean
}

/** Storage on S3 or any S3-compatible service, through the official AWS SDK. */
export const make = (options: S3Options) =>
  Effect.acquireRelease(
    Effect.sync(() =>
      new S3Client({
        region: options.region,
        ...(Option.isSome(options.endpoint) ? { endpoint: options.endpoint.value } : {}),
        forcePathStyle: options.forcePathStyle,
        credentials: { accessKeyId: options.accessKeyId, secretAccessKey: Redacted.value(options.secretAccessKey) },
        maxAttempts: 2
      })
    ),
    (client) => Effect.sync(() => client.destroy())
  ).pipe(Effect.map((client) => {
    const fail = (operation: string) => (cause: unknown) =>
      new ProviderError({
        provider: "s3",
        operation,
        reason: cause instanceof Error ? cause.name : "request failed",
        cause
      })
    return Storage.of({
      provider: "s3",
      put: (key, object) =>
        Effect.tryPromise({
          try: (signal) =>
            client.send(
              new PutObjectCommand({ Bucket: options.bucket, Key: key, Body: object.bytes, ContentType: object.contentType }),
              { abortSignal: signal }
            ),
          catch: fail("put")
        }).pipe(Effect.asVoid),
      get: (key) =>
        Effect.tryPromise({
          try: async (signal) => {
            try {
              const out = await client.send(new GetObjectCommand({ Bucket: options.bucket, Key: key }), { abortSignal: signal })
              if (out.Body === undefined) return Option.none()
              const bytes = await out.Body.transformToByteArray()
              return Option.some({ bytes, contentType: out.ContentType ?? "application/octet-stream" })
            } catch (e) {
              if (e instanceof NoSuchKey || (e instanceof Error && e.name === "NoSuchKey")) return Option.none()
              throw e
            }
          },
          catch: fail("get")
        }),
      remove: (key) =>
        Effect.tryPromise({
          try: (signal) => client.send(new DeleteObjectCommand({ Bucket: options.bucket, Key: key }), { abortSignal: signal }),
          catch: fail("remove")
        }).pipe(Effect.asVoid)
    })
  }))

export const layer = (options: S3Options) => Layer.scoped(Storage, make(options))
