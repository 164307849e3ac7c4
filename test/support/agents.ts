import * as Effect from "effect/Effect"
import { AgentId } from "../../schema/Ids.ts"
import { AgentRuntime } from "../../src/agents/AgentRuntime.ts"
import { Provision } from "../../src/agents/Commands.ts"

export type ProvisionFields = ConstructorParameters<typeof Provision>[0]

/** A Provision command with test defaults (phone + email, token issued, by the master). */
export const provisionCommand = (extra: Partial<ProvisionFields> = {}) =>
  new Provision({
    displayName: "Test agent",
    greeting: "hi",
    systemPrompt: "p",
    country: "US",
    capabilities: { phone: true, whatsapp: false, email: true, voiceAi: false },
    issueToken: true,
    actor: "master",
    ...extra
  })

/** Provisions `id` through its actor (no HTTP). */
export const provisionAgent = (id: string, extra: Partial<ProvisionFields> = {}) =>
  Effect.flatMap(AgentRuntime, (s) => s.send(AgentId.make(id), provisionCommand({ displayName: id, ...extra })))
