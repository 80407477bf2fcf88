/**
 * Owns the two sets of parameters: `full` (the figures, about twenty
 * minutes on two busy cores) and `quick` (a smoke run of about four).
 */
export interface Profile {
  readonly name: 'full' | 'quick'
  readonly fanout: {
    readonly clients: number
    readonly docs: number
    /** Updates per second in all, one fixed-rate phase each. */
    readonly rates: readonly number[]
    readonly rateMs: number
    /**
     * A fixed-rate phase at the first rate before the measured ones, not measured: each server's
     * JIT compiles its hot path then, so the phases compare servers that run, not that start.
     */
    readonly warmupMs: number
    readonly window: number
    readonly saturateMs: number
  }
  readonly connections: { readonly connections: number; readonly docs: number; readonly settleMs: number }
  /** Transactions of the trace to replay (the whole trace has 259,778). */
  readonly largeDoc: { readonly txns: number }
  /** Fresh clients opening one document at once, the trace's first `txns` transactions. */
  readonly joinStorm: { readonly clients: number; readonly txns: number }
  readonly ackLatency: { readonly connections: number; readonly ratePerSecond: number; readonly durationMs: number }
  readonly coldLoad: { readonly updates: number; readonly repeats: number }
  /**
   * The realistic cold load: the trace's first `txns` transactions typed in bursts (see
   * coldLoad/sessionPage.ts), then `repeats` cold opens of each library.
   */
  readonly realCold: {
    readonly txns: number
    readonly burst: number
    readonly shortPauseMs: number
    readonly longPauseEvery: number
    readonly longPauseMs: number
    readonly repeats: number
  }
  /** The trace's first `txns` transactions as one stored snapshot, opened `repeats` times. */
  readonly idbLarge: { readonly txns: number; readonly repeats: number }
  /** The fan-out (its parameters above) with history on and off: rounds of one of each. */
  readonly history: { readonly rounds: number }
  /** One version of the trace's first `txns` transactions: saves and loads, then restores to halfway and back. */
  readonly versions: { readonly txns: number; readonly repeats: number; readonly restoreRepeats: number }
}

export const profiles: Record<Profile['name'], Profile> = {
  full: {
    name: 'full',
    fanout: {
      clients: 100,
      docs: 10,
      rates: [1000, 5000],
      rateMs: 10_000,
      warmupMs: 5000,
      window: 4,
      saturateMs: 15_000,
    },
    connections: { connections: 5000, docs: 500, settleMs: 3000 },
    largeDoc: { txns: Number.MAX_SAFE_INTEGER },
    joinStorm: { clients: 100, txns: Number.MAX_SAFE_INTEGER },
    ackLatency: { connections: 10, ratePerSecond: 1000, durationMs: 20_000 },
    coldLoad: { updates: 10_000, repeats: 5 },
    realCold: { txns: 20_000, burst: 100, shortPauseMs: 100, longPauseEvery: 20, longPauseMs: 1500, repeats: 15 },
    idbLarge: { txns: Number.MAX_SAFE_INTEGER, repeats: 15 },
    history: { rounds: 3 },
    versions: { txns: Number.MAX_SAFE_INTEGER, repeats: 7, restoreRepeats: 3 },
  },
  quick: {
    name: 'quick',
    fanout: { clients: 20, docs: 4, rates: [1000, 5000], rateMs: 2000, warmupMs: 1000, window: 4, saturateMs: 3000 },
    connections: { connections: 500, docs: 50, settleMs: 1000 },
    largeDoc: { txns: 10_000 },
    joinStorm: { clients: 100, txns: 20_000 },
    ackLatency: { connections: 10, ratePerSecond: 1000, durationMs: 3000 },
    coldLoad: { updates: 1000, repeats: 2 },
    realCold: { txns: 2000, burst: 100, shortPauseMs: 100, longPauseEvery: 10, longPauseMs: 1500, repeats: 3 },
    idbLarge: { txns: 20_000, repeats: 3 },
    history: { rounds: 1 },
    versions: { txns: 20_000, repeats: 3, restoreRepeats: 1 },
  },
}
