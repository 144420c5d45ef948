/**
 * The fields of a circuit breaker's configuration whose defaults depend on
 * other fields, and the rules that tie fields together: applied to fields
 * each already valid on its own. The same in every edition.
 *
 * @internal
 */

/** The fields `derive` reads (each valid on its own, durations in milliseconds). @internal */
export interface DeriveInput {
  readonly backoffJitter: number
  readonly probeLease: number
  readonly recoveryTimeout: number
  readonly maxRecoveryTimeout?: number | undefined
  readonly stateTtl?: number | undefined
  readonly slowCallDuration?: number | undefined
  readonly recordLatency: boolean
  readonly halfOpenMaxProbes?: number | undefined
  readonly successThreshold: number
  readonly serviceName?: string | undefined
}

/** The fields whose defaults depend on others, as `derive` sets them. @internal */
export interface Derived {
  readonly maxRecoveryTimeout: number
  readonly stateTtl: number
  readonly halfOpenMaxProbes: number
  readonly serviceName: string
}

/** The defaults of `maxRecoveryTimeout` and `stateTtl` when no other field asks for more. @internal */
export const derivedDefaults = { maxRecoveryTimeout: 300_000, stateTtl: 600_000 } as const

/**
 * The derived fields of the circuit `name`, or one line per rule between
 * fields that `fields` break.
 *
 * @internal
 */
export const derive = (
  name: string,
  fields: DeriveInput
): { readonly derived: Derived } | { readonly issues: ReadonlyArray<string> } => {
  const issues: Array<string> = []
  const { backoffJitter, probeLease, recoveryTimeout } = fields
  const maxRecoveryTimeout = fields.maxRecoveryTimeout ??
    Math.max(derivedDefaults.maxRecoveryTimeout, recoveryTimeout)
  // an open period lasts up to maxRecoveryTimeout × (1 + jitter), then a probe holds its lease:
  // the state must outlive both, or an open circuit would be forgotten before its retry
  const longestOpen = Math.ceil(maxRecoveryTimeout * (1 + backoffJitter)) + probeLease
  const stateTtl = fields.stateTtl ?? Math.max(derivedDefaults.stateTtl, 2 * maxRecoveryTimeout, longestOpen + 1)
  if (maxRecoveryTimeout < recoveryTimeout) {
    issues.push(
      `maxRecoveryTimeout must be at least recoveryTimeout (got ${maxRecoveryTimeout} ms < ${recoveryTimeout} ms)`
    )
  }
  if (stateTtl <= longestOpen) {
    issues.push(
      `stateTtl must exceed maxRecoveryTimeout × (1 + backoffJitter) + probeLease (got ${stateTtl} ms <= ${longestOpen} ms)`
    )
  }
  if (fields.slowCallDuration !== undefined && !fields.recordLatency) {
    issues.push("slowCallDuration needs recordLatency: true (got recordLatency: false)")
  }
  if (issues.length > 0) return { issues }
  return {
    derived: {
      maxRecoveryTimeout,
      stateTtl,
      halfOpenMaxProbes: fields.halfOpenMaxProbes ?? fields.successThreshold,
      serviceName: fields.serviceName ?? name
    }
  }
}
