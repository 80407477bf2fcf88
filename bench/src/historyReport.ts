/**
 * Owns the Markdown of the two history scenarios: the fan-out's relay CPU per delivery with
 * history on and off (each phase, each round, and the ratio), and what one version costs.
 */
import type { HistoryFanoutResult, VersionCostResult } from './historyScenario.js'
import type { PhaseResult } from './load/fanout.js'
import { int, ms, table } from './markdown.js'

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((x, y) => x - y)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}
const kib = (bytes: number): string => (bytes / 1024).toFixed(1)

/** Relay CPU time per delivery: under load this holds better than throughput, which the load generator's share of the cores bounds. */
const cpuPerDelivery = (phase: PhaseResult): number => (phase.serverCpuMs * 1000) / phase.delivered

export const historyFanoutReport = (result: HistoryFanoutResult): string => {
  const phasesOf = (round: HistoryFanoutResult['rounds'][number]): Array<[string, PhaseResult, PhaseResult]> => [
    ...round.on.fixed.map((on, index): [string, PhaseResult, PhaseResult] => [
      `fixed ${int(on.targetRate)} updates/s`,
      on,
      round.off.fixed[index]!,
    ]),
    ['saturated', round.on.saturate, round.off.saturate],
  ]
  const rows = result.rounds.flatMap((round, index) =>
    phasesOf(round).map(([phase, on, off]) => [
      `${index + 1} (${round.onFirst ? 'on first' : 'off first'})`,
      phase,
      cpuPerDelivery(on).toFixed(2),
      cpuPerDelivery(off).toFixed(2),
      `${(cpuPerDelivery(on) / cpuPerDelivery(off)).toFixed(3)}x`,
      `${int(on.deliveredPerSecond)} / ${int(off.deliveredPerSecond)}`,
      `${ms(on.latencyMs.p99)} / ${ms(off.latencyMs.p99)}`,
      `${int(on.undelivered)} / ${int(off.undelivered)}`,
    ]),
  )
  const phaseNames = phasesOf(result.rounds[0]!).map(([phase]) => phase)
  const medians = phaseNames.map((phase, index) => {
    const ratios = result.rounds.map((round) => {
      const [, on, off] = phasesOf(round)[index]!
      return cpuPerDelivery(on) / cpuPerDelivery(off)
    })
    return [`median of ${result.rounds.length}`, phase, '', '', `${median(ratios).toFixed(3)}x`, '', '', '']
  })
  const taken = result.rounds.map((round) => `${int(round.versionsTaken)} (${int(round.versionsAtStop)} at stop)`)
  return [
    `History on: \`--history-quiet-ms ${result.quietMs} --history-max-interval-ms ${result.maxIntervalMs}\`;`,
    `off: \`--no-history\`. ${result.docs} documents. Automatic versions taken while the load ran, per round:`,
    `${taken.join(', ')}.`,
    '',
    table(
      [
        'round',
        'phase',
        'relay CPU µs per delivery, on',
        'off',
        'on / off',
        'delivered/s on / off',
        'p99 ms on / off',
        'missing on / off',
      ],
      [...rows, ...(result.rounds.length > 1 ? medians : [])],
    ),
  ].join('\n')
}

export const versionCostReport = (result: VersionCostResult): string => {
  const spread = (values: readonly number[]): string =>
    `${ms(median(values))} (${ms(Math.min(...values))} to ${ms(Math.max(...values))}, ${values.length} runs)`
  return [
    `The trace's first ${int(result.txns)} transactions (${int(result.textLength)} characters of text), in a relay`,
    'on SQLite: the first half stored as one row and a named version of it taken, then the rest applied.',
    '',
    table(
      ['', 'value'],
      [
        ['document state as one Yjs update, KiB', kib(result.stateBytes)],
        ['stored version of the whole document, KiB', kib(result.versionBytes)],
        ['stored version of the halfway document, KiB', kib(result.halfwayBytes)],
        ['take a named version (`relay.saveVersion`), ms, median (min to max)', spread(result.saveMs)],
        ['longest the event loop was held while taking it, ms', spread(result.saveStallMs)],
        ['load a version (`relay.loadVersion`), ms', spread(result.loadMs)],
        ['restore the halfway version (`relay.restoreVersion`), ms', spread(result.restoreHalfwayMs)],
        ['restore the whole version from the halfway content, ms', spread(result.restoreWholeMs)],
        ['longest the event loop was held while restoring (halfway), ms', spread(result.restoreHalfwayStallMs)],
        ['longest the event loop was held while restoring (whole), ms', spread(result.restoreWholeStallMs)],
      ],
    ),
  ].join('\n')
}
