import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { AgentSuspended, Forbidden, LockedOut, Unauthorized } from "../../schema/Errors.ts"
import type { AgentId } from "../../schema/Ids.ts"
import { AppConfig } from "../config/AppConfig.ts"
import { constantTimeEqual } from "../webhooks/verify.ts"
import { AuditLog } from "../observability/AuditLog.ts"
import { recordSecurityEvent } from "../observability/Metrics.ts"
import { AgentTokens } from "./AgentTokens.ts"
import { AnomalyDetector, type AnomalyEvent } from "./AnomalyDetector.ts"
import { AuthLockout } from "./AuthLockout.ts"

/** Who is calling: the orchestrator (master token) or one agent. */
export type Principal =
  | { readonly _tag: "Master" }
  | { readonly _tag: "Agent"; readonly agentId: AgentId }


/**
 * Turns a presented token into a Principal, and guards every agent-scoped
 * action against impersonation: an agent token acts only for its own agentId.
 */
export class Authenticator extends Effect.Service<Authenticator>()("app/security/Authenticator", {
  effect: Effect.gen(function*() {
    const config = yield* AppConfig
    const tokens = yield* AgentTokens
    const lockout = yield* AuthLockout
    const audit = yield* AuditLog
    // optional, so that compositions without it (benches, narrow tests) still build; the app provides it
    const detector = yield* Effect.serviceOption(AnomalyDetector)
    const isSuspended = (agentId: AgentId) => Option.isSome(detector) && detector.value.isSuspended(agentId)
    const recordAnomaly = (agentId: AgentId, event: AnomalyEvent) =>
      Option.isSome(detector) ? detector.value.record(agentId, event) : Effect.void
    const master = Redacted.value(config.masterToken)

    const suspendedError = (agentId: AgentId) =>
      new AgentSuspended({
        message: `agent ${agentId} is suspended after an anomaly; an admin must unsuspend it (POST /admin/agents/${agentId}/unsuspend)`
      })

    const authenticate = (token: Option.Option<Redacted.Redacted<string>>, clientIp: string) =>
      Effect.gen(function*() {
        if (Option.isNone(token) || Redacted.value(token.value).length === 0) {
          return yield* new Unauthorized({
            message: "a security token is required: pass securityToken or send 'Authorization: Bearer <token>'"
          })
        }
        const presented = Redacted.value(token.value)
        // the master token is checked before the lockout: agents' mistakes must not lock out the orchestrator
        if (constantTimeEqual(presented, master)) return { _tag: "Master" } as Principal
        const locked = yield* lockout.lockedFor(clientIp)
        if (locked > 0) {
          return yield* new LockedOut({
            message: `too many invalid tokens from this address; try again in ${locked} s`,
            retryAfterSeconds: locked
          })
        }
        const agentId = yield* tokens.verify(token.value).pipe(Effect.orDie)
        if (Option.isSome(agentId)) {
          if (isSuspended(agentId.value)) return yield* suspendedError(agentId.value)
          return { _tag: "Agent", agentId: agentId.value } as Principal
        }
        const lockedNow = yield* lockout.recordFailure(clientIp)
        yield* recordSecurityEvent("auth_failure")
        if (lockedNow) {
          yield* recordSecurityEvent("auth_lockout")
          yield* Effect.logWarning("auth lockout started").pipe(Effect.annotateLogs({ securityEvent: "auth_lockout" }))
          yield* audit.append({
            eventType: "auth_lockout",
            actor: "system",
            details: { lockoutSeconds: config.authLockoutSeconds }
          })
        }
        return yield* new Unauthorized({ message: "invalid, expired or revoked security token" })
      })

    /**
     * The impersonation guard: master may act for any agent, an agent only for
     * itself; nobody acts for a suspended agent. A token used for another agent
     * counts as an auth failure of its own agent for the anomaly detector.
     */
    const authorizeAgent = (principal: Principal, agentId: AgentId) =>
      isSuspended(agentId)
        ? Effect.fail(suspendedError(agentId))
        : principal._tag === "Master" || principal.agentId === agentId
        ? Effect.void
        : Effect.zipRight(
          recordAnomaly(principal.agentId, { _tag: "auth_failure" }),
          Effect.fail(new Forbidden({ message: "this token belongs to another agent" }))
        )

    const requireMaster = (principal: Principal, what: string) =>
      principal._tag === "Master"
        ? Effect.void
        : Effect.fail(new Forbidden({ message: `${what} requires the master token` }))

    /**
     * Whether a token is the master token or a live agent token. Records no
     * failure (connection-level checks must not double-count a wrong token:
     * the tool call that uses it does).
     */
    const identify = (token: Redacted.Redacted<string>) =>
      Effect.suspend(() =>
        constantTimeEqual(Redacted.value(token), master)
          ? Effect.succeed(true)
          : Effect.map(tokens.verify(token), Option.isSome)
      ).pipe(Effect.orElseSucceed(() => false))

    return { authenticate, authorizeAgent, requireMaster, identify } as const
  })
}) {}
