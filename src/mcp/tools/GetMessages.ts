import * as Effect from "effect/Effect"
import { GetMessagesInput, GetMessagesOutput } from "../../../schema/tools/GetMessages.ts"
import { MessagesRepo } from "../../messaging/MessagesRepo.ts"
import { toE164 } from "../../messaging/Recipients.ts"
import { Authenticator } from "../../security/Authenticator.ts"
import * as Option from "effect/Option"
import * as Tool from "../Tool.ts"

export const GetMessages = Tool.make({
  name: "comms_get_messages",
  title: "Message history",
  description: "The agent's message history across channels, newest first: routing metadata always, bodies " +
    "only where the agent owner opted in to body storage. Filters: channel, contactNumber, since; limit " +
    "defaults to 50 (at most 200). Needs the agent's own token (or the master token).",
  input: GetMessagesInput,
  output: GetMessagesOutput,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handler: (input, principal) =>
    Effect.gen(function*() {
      const auth = yield* Authenticator
      yield* auth.authorizeAgent(principal, input.agentId)
      const repo = yield* MessagesRepo
      const contact = input.contactNumber === undefined
        ? undefined
        : input.contactNumber.includes("@")
        ? input.contactNumber.trim().toLowerCase()
        : Option.getOrElse(toE164(input.contactNumber), () => input.contactNumber?.trim() ?? "")
      const { messages, totalCount } = yield* repo.list({
        agentId: input.agentId,
        channel: input.channel ?? "all",
        contact,
        since: input.since === undefined ? undefined : new Date(input.since),
        limit: input.limit ?? 50
      }).pipe(Effect.orDie)
      return {
        totalCount,
        messages: messages.map((m) => ({
          id: m.id,
          channel: m.channel,
          direction: m.direction,
          from: m.fromAddress,
          to: m.toAddress,
          body: m.body,
          ...(m.subject !== null ? { subject: m.subject } : {}),
          ...(m.media[0] !== undefined ? { mediaUrl: m.media[0].url, mediaType: m.media[0].contentType } : {}),
          media: m.media,
          ...(m.fromAgentId !== null ? { fromAgentId: m.fromAgentId } : {}),
          timestamp: m.createdAt.toISOString(),
          status: m.status
        }))
      }
    })
})
