/**
 * Owns the tables of the two client scenarios of round 4: the realistic cold
 * load (Concord against y-indexeddb after the same session) and the large
 * document from IndexedDB (Concord against a bare apply). Each gives the
 * median and every run, and the median of the per-pair ratios, which the
 * machine's load weighs on alike.
 */
import type { IdbLargeResult } from './coldLoad/idbLarge.js'
import type { RealColdResult } from './coldLoad/realCold.js'
import type { StoredShape } from './coldLoad/sessionPage.js'
import { int, ms, table } from './markdown.js'

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

const spread = (values: readonly number[]): string => `${ms(Math.min(...values))} to ${ms(Math.max(...values))}`
const runs = (values: readonly number[]): string => values.map(ms).join(', ')
const shape = ({ records, bytes }: StoredShape): string => `${int(records)} records, ${int(bytes)} bytes`

export const realColdReport = (result: RealColdResult): string => {
  const { session } = result
  return [
    `The automerge-paper trace's first ${int(result.txns)} transactions, one Yjs transaction each, typed in bursts of ${session.burst}` +
      ` with ${session.shortPauseMs} ms between bursts and ${session.longPauseMs} ms after every ${session.longPauseEvery}th and at the end;` +
      ` Concord's client connected to a relay, y-indexeddb alone. Then ${result.concordMs.length} cold opens of each in fresh pages, taking turns.`,
    '',
    table(
      ['', 'cold open ms (median)', 'spread', 'runs', 'session written in s', 'what the store held'],
      [
        [
          'Concord (`whenLoaded()`)',
          ms(median(result.concordMs)),
          spread(result.concordMs),
          runs(result.concordMs),
          (result.writeMs.concord / 1000).toFixed(1),
          `snapshot: ${shape(result.stored.concord.snapshot)}; log: ${shape(result.stored.concord.updates)}`,
        ],
        [
          'y-indexeddb (`whenSynced`)',
          ms(median(result.yIndexeddbMs)),
          spread(result.yIndexeddbMs),
          runs(result.yIndexeddbMs),
          (result.writeMs.yIndexeddb / 1000).toFixed(1),
          shape(result.stored.yIndexeddb),
        ],
        [
          'Concord / y-indexeddb',
          `${median(result.pairRatios).toFixed(2)}x (median of pairs)`,
          `${Math.min(...result.pairRatios).toFixed(2)}x to ${Math.max(...result.pairRatios).toFixed(2)}x`,
          result.pairRatios.map((r) => r.toFixed(2)).join(', '),
          '',
          '',
        ],
      ],
    ),
  ].join('\n')
}

export const idbLargeReport = (result: IdbLargeResult): string =>
  [
    `A snapshot of ${int(result.snapshotBytes)} bytes stored as the client's compaction stores it; in each of ${result.concordMs.length} fresh pages the client opens it and the same bytes are applied to a new Y.Doc, the order alternating.`,
    '',
    table(
      ['', 'ms (median)', 'spread', 'runs'],
      [
        [
          'Concord: open from IndexedDB until `whenLoaded()`',
          ms(median(result.concordMs)),
          spread(result.concordMs),
          runs(result.concordMs),
        ],
        [
          'bare `Y.applyUpdate(new Y.Doc(), snapshot)`',
          ms(median(result.bareMs)),
          spread(result.bareMs),
          runs(result.bareMs),
        ],
        [
          'Concord / bare (median of pages)',
          `${median(result.pageRatios).toFixed(2)}x`,
          `${Math.min(...result.pageRatios).toFixed(2)}x to ${Math.max(...result.pageRatios).toFixed(2)}x`,
          result.pageRatios.map((r) => r.toFixed(2)).join(', '),
        ],
      ],
    ),
  ].join('\n')
