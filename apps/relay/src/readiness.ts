/**
 * Owns readiness: a list of named checks, each a question to something the
 * relay cannot serve without (the store; in cluster mode also Redis), and
 * the answer to `GET /readyz`. Liveness (`/healthz`) is not here: a relay
 * whose store is down is alive, and restarting it would not help.
 */
export interface ReadinessCheck {
  /** Names the dependency in /readyz and in the `concord_dependency_up` metric: `store`, `redis`. */
  readonly name: string
  /** Resolves when the dependency answers; rejects (or never settles) when it does not. */
  readonly check: () => Promise<void>
}

export interface CheckResult {
  readonly name: string
  readonly ok: boolean
  /** Why the check failed; never a credential (checks report their error's message only). */
  readonly error?: string
}

/** A check that has not answered by then fails. */
export const defaultCheckTimeoutMs = 2_000

/**
 * Each check's call still waiting for an answer. A dependency that hangs is asked once, not once per
 * probe: a load balancer polling /readyz every second would otherwise pile up one ping per second on
 * a store that stalls (each holding a connection or a worker slot), until it answers them all.
 */
const inFlight = new WeakMap<ReadinessCheck, Promise<void>>()

const withTimeout = (readinessCheck: ReadinessCheck, timeoutMs: number): Promise<void> => {
  let call = inFlight.get(readinessCheck)
  if (!call) {
    // A check that throws synchronously fails like one that rejects.
    const started = Promise.resolve().then(readinessCheck.check)
    call = started
    inFlight.set(readinessCheck, started)
    const forget = (): void => {
      if (inFlight.get(readinessCheck) === started) inFlight.delete(readinessCheck)
    }
    started.then(forget, forget)
  }
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
  })
  return Promise.race([call, timeout]).finally(() => clearTimeout(timer))
}

/** Runs every check at once; each fails on its own error or after `timeoutMs`. */
export const runChecks = (
  checks: readonly ReadinessCheck[],
  timeoutMs = defaultCheckTimeoutMs,
): Promise<CheckResult[]> =>
  Promise.all(
    checks.map((check) =>
      withTimeout(check, timeoutMs).then(
        (): CheckResult => ({ name: check.name, ok: true }),
        (error: unknown): CheckResult => ({
          name: check.name,
          ok: false,
          error: error instanceof Error ? error.message : String(error),
        }),
      ),
    ),
  )

export interface Readiness {
  readonly status: 200 | 503
  readonly body: {
    readonly status: 'ready' | 'not ready' | 'shutting down'
    /** The names of the checks that failed. */
    readonly failing: readonly string[]
    readonly checks: readonly CheckResult[]
  }
}

/** The answer to /readyz: 200 when every check answers, 503 naming the failing ones, 503 while shutting down. */
export const readiness = async (
  checks: readonly ReadinessCheck[],
  shuttingDown: boolean,
  timeoutMs = defaultCheckTimeoutMs,
): Promise<Readiness> => {
  if (shuttingDown) return { status: 503, body: { status: 'shutting down', failing: [], checks: [] } }
  const results = await runChecks(checks, timeoutMs)
  const failing = results.filter((result) => !result.ok).map((result) => result.name)
  return {
    status: failing.length === 0 ? 200 : 503,
    body: { status: failing.length === 0 ? 'ready' : 'not ready', failing, checks: results },
  }
}

/**
 * What anonymous clients of /readyz are told: which checks fail, never why. An error can name hosts,
 * ports, users and databases ("connect ECONNREFUSED 10.0.0.5:5432"); the service logs it instead.
 */
export const withoutDetails = (body: Readiness['body']): Readiness['body'] => ({
  ...body,
  checks: body.checks.map(({ name, ok }) => ({ name, ok })),
})
