/**
 * A circuit breaker per provider, as a pure state machine (time passed in):
 *
 * - closed: actions go through; `threshold` consecutive failures (5xx, unreachable, timeout) open it
 * - open: actions skip this provider until `cooldownMs` has passed
 * - half-open: exactly one action (the probe) goes through; success closes, failure re-opens
 *
 * Refusals that prove the provider is alive (invalid input, auth, throttling) are not failures.
 */
export type BreakerState =
  | { readonly _tag: "closed"; readonly failures: number }
  | { readonly _tag: "open"; readonly until: number }
  | { readonly _tag: "half_open"; readonly probing: boolean }

export interface BreakerPolicy {
  readonly threshold: number
  readonly cooldownMs: number
}

export const closed: BreakerState = { _tag: "closed", failures: 0 }

/** Whether an action may go to the provider now, and the state after letting it (a probe is claimed). */
export const admit = (state: BreakerState, now: number): readonly [boolean, BreakerState] => {
  switch (state._tag) {
    case "closed":
      return [true, state]
    case "open":
      return now >= state.until ? [true, { _tag: "half_open", probing: true }] : [false, state]
    case "half_open":
      return state.probing ? [false, state] : [true, { _tag: "half_open", probing: true }]
  }
}

export const onSuccess = (_state: BreakerState): BreakerState => closed

export const onFailure = (state: BreakerState, now: number, policy: BreakerPolicy): BreakerState => {
  switch (state._tag) {
    case "closed":
      return state.failures + 1 >= policy.threshold
        ? { _tag: "open", until: now + policy.cooldownMs }
        : { _tag: "closed", failures: state.failures + 1 }
    case "half_open":
      return { _tag: "open", until: now + policy.cooldownMs }
    case "open":
      return state
  }
}

/** "up" unless open (a half-open provider is being probed and counts as up). */
export const isUp = (state: BreakerState, now: number): boolean => state._tag !== "open" || now >= state.until
