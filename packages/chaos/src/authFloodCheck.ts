/**
 * Owns the verdict on a hostile auth-frame flood (`authFlood`): the relay
 * must not do work in proportion to auth frames times open documents. It is
 * judged by the CPU time the relay process used from just before the flood
 * until a second after it, per auth frame the flood sent, because CPU time
 * does not grow when the machine is busy; the slowest /healthz answer
 * meanwhile is reported, and fails a run only when it reaches the probe's
 * timeout, which only a wedged relay does (a bound in wall-clock time on a
 * shared machine is a bound on the machine, not on the relay).
 */

/**
 * The most relay CPU time one auth frame of a flood may cost, in ms. Measured on the harness's
 * 2-core machine against concord-relay with JWTs. Alone (seeds 1-3 of the flood: 117-143 open
 * documents, 344-375 frames): 0.13-0.35 ms per frame as fixed (mostly opening and authorizing the
 * documents once), 8.8-13 ms with each auth frame re-running authenticate for every open document
 * (the bug of issue 14, item 6), about 75-100 us per document and frame. In chaos runs with honest
 * replicas writing meanwhile (seeds 3, 45, 79): 0.47-1.08 ms per frame as fixed (the most with 186
 * documents and only 213 frames, the opening cost spread over few frames), 15.7-18.5 ms with the
 * bug. 4 ms is ~4 times the fixed relay's worst and still ~2 times under the bug's cost at the
 * flood's fewest documents (101). A flood during which the schedule stopped the relay is charged
 * up to the relay's last answer, per frame of the whole flood: a lower bound, which can miss the
 * bug but never fails a sound relay.
 */
export const authFloodCpuMsPerFrameBound = 4

/** How long the harness waits for one /healthz answer during a flood; one that takes this long means a wedged relay. */
export const authFloodWedgedMs = 15_000

export interface AuthFloodFigures {
  /** The most relay CPU time per auth frame over the run's floods, in ms (0 without a flood). */
  readonly authFloodCpuMsPerFrame: number
  /** The longest the relay took to answer /healthz during a flood, in ms. */
  readonly authFloodStallMs: number
}

/** What the run's auth-frame floods did wrong, in words. */
export const authFloodProblems = ({ authFloodCpuMsPerFrame, authFloodStallMs }: AuthFloodFigures): string[] => {
  const problems: string[] = []
  if (authFloodCpuMsPerFrame > authFloodCpuMsPerFrameBound) {
    problems.push(
      `an auth-frame flood cost the relay ${authFloodCpuMsPerFrame.toFixed(2)} ms of CPU per auth frame ` +
        `(bound ${authFloodCpuMsPerFrameBound} ms): it re-authorizes open documents for every frame`,
    )
  }
  if (authFloodStallMs >= authFloodWedgedMs) {
    problems.push(`an auth-frame flood wedged the relay: /healthz did not answer within ${authFloodStallMs} ms`)
  }
  return problems
}
