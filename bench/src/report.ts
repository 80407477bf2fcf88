/**
 * Owns turning results into the Markdown tables of BENCHMARKS.md: one table
 * per scenario, with the ratios Concord / bare ws and Concord / y-websocket.
 */
import type { ColdLoadResult } from './coldLoad/coldLoad.js'
import type { AckLatencyResult } from './load/ackLatency.js'
import type { ConnectionsResult } from './load/connections.js'
import type { FanoutResult } from './load/fanout.js'
import type { LargeDocScenarioResult, PerServer } from './scenarios.js'
import type { ServerKind } from './serverProcess.js'

const kinds: ServerKind[] = [
  'concord',
  'y-websocket',
  'bare-ws',
  'concord-memory',
  'concord-sync-normal',
  'concord-no-echo',
]
const label: Record<ServerKind, string> = {
  'concord-memory': 'Concord, memory store (diagnostic)',
  'concord-sync-normal': 'Concord, SQLite synchronous=NORMAL (diagnostic)',
  'concord-no-echo': 'Concord, --no-echo-committed (diagnostic)',
  concord: 'Concord relay',
  'y-websocket': 'y-websocket server',
  'bare-ws': 'bare ws',
}

const ms = (value: number): string => (value >= 100 ? value.toFixed(0) : value.toFixed(1))
const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1)
const kib = (bytes: number): string => (bytes / 1024).toFixed(1)
const int = (value: number): string => Math.round(value).toLocaleString('en-US')
const ratio = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined || !Number.isFinite(a / b) ? 'n/a' : `${(a / b).toFixed(2)}x`
const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((x, y) => x - y)
  return sorted[Math.floor((sorted.length - 1) / 2)]!
}

const table = (header: string[], rows: string[][]): string =>
  [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n')

/** Concord / bare ws and Concord / y-websocket rows for the given columns. */
const ratioRows = <T>(results: PerServer<T>, columns: Array<(result: T) => number | undefined>): string[][] =>
  (['bare-ws', 'y-websocket'] as const)
    .filter((peer) => results[peer])
    .map((peer) => [
      `Concord / ${label[peer]}`,
      ...columns.map((column) =>
        ratio(results.concord && column(results.concord), results[peer] && column(results[peer])),
      ),
    ])

/** CPU time the server spent per update it delivered, at saturation: what a core of its own would sustain. */
const cpuPerDelivery = (r: FanoutResult): number => (r.saturate.serverCores * 1e6) / r.saturate.deliveredPerSecond

export const fanoutReport = (results: PerServer<FanoutResult>): string => {
  const columns: Array<[string, (r: FanoutResult) => number]> = [
    ['saturated: delivered/s', (r) => r.saturate.deliveredPerSecond],
    ['fixed rate: p50 ms', (r) => r.rate.latencyMs.p50],
    ['p99 ms', (r) => r.rate.latencyMs.p99],
    ['max ms', (r) => r.rate.latencyMs.max],
    ['server CPU, cores (fixed / saturated)', (r) => r.rate.serverCores],
    ['server CPU µs per delivery (saturated)', (r) => cpuPerDelivery(r)],
    ['server RSS MiB', (r) => r.saturate.serverRssBytes],
  ]
  const rows = kinds
    .filter((kind) => results[kind])
    .map((kind) => {
      const r = results[kind]!
      return [
        label[kind],
        int(r.saturate.deliveredPerSecond),
        ms(r.rate.latencyMs.p50),
        ms(r.rate.latencyMs.p99),
        ms(r.rate.latencyMs.max),
        `${r.rate.serverCores.toFixed(2)} / ${r.saturate.serverCores.toFixed(2)}`,
        cpuPerDelivery(r).toFixed(1),
        mib(r.saturate.serverRssBytes),
      ]
    })
  const detail = kinds
    .filter((kind) => results[kind])
    .map((kind) => {
      const r = results[kind]!
      return [
        label[kind],
        `${int(r.rate.sent)} / ${int(r.rate.delivered)} / ${int(r.rate.undelivered)}`,
        `${int(r.saturate.sent)} / ${int(r.saturate.delivered)} / ${int(r.saturate.undelivered)}`,
        `${ms(r.saturate.latencyMs.p50)} / ${ms(r.saturate.latencyMs.p99)}`,
        int(1e6 / cpuPerDelivery(r)),
        int(r.echoes),
      ]
    })
  return [
    table(
      ['', ...columns.map(([name]) => name)],
      [
        ...rows,
        ...ratioRows(
          results,
          columns.map(([, column]) => column),
        ),
      ],
    ),
    '',
    table(
      [
        '',
        'fixed rate: sent / delivered / missing',
        'saturated: sent / delivered / missing',
        'saturated p50 / p99 ms',
        'saturated: deliveries per server CPU-second',
        'echoes to sender',
      ],
      detail,
    ),
  ].join('\n')
}

export const connectionsReport = (results: PerServer<ConnectionsResult>): string => {
  const columns: Array<[string, (r: ConnectionsResult) => number]> = [
    ['RSS idle MiB', (r) => r.idleRssBytes],
    ['RSS with one connection per document MiB', (r) => r.docsRssBytes],
    ['RSS with all MiB', (r) => r.allRssBytes],
    ['per connection KiB', (r) => r.perConnectionBytes],
    ['per document KiB', (r) => r.perDocumentBytes],
  ]
  const rows = kinds
    .filter((kind) => results[kind])
    .map((kind) => {
      const r = results[kind]!
      return [
        label[kind],
        mib(r.idleRssBytes),
        mib(r.docsRssBytes),
        mib(r.allRssBytes),
        kib(r.perConnectionBytes),
        kib(r.perDocumentBytes),
      ]
    })
  return table(
    ['', ...columns.map(([name]) => name)],
    [
      ...rows,
      ...ratioRows(
        results,
        columns.map(([, c]) => c),
      ),
    ],
  )
}

export const largeDocReport = (result: LargeDocScenarioResult): string => {
  const columns: Array<[string, (r: NonNullable<LargeDocScenarioResult['servers']['concord']>) => number]> = [
    ['replay s', (r) => r.replayMs / 1000],
    ['server CPU during replay, cores', (r) => r.replayServerCores],
    ['RSS after, collected MiB', (r) => r.serverRssBytes],
    ['fresh client: bytes received', (r) => r.firstSync.bytesReceived],
    ['time to synced ms (median of 5)', (r) => r.firstSync.syncedMs],
  ]
  const rows = kinds
    .filter((kind) => result.servers[kind])
    .map((kind) => {
      const r = result.servers[kind]!
      if (r.firstSync.textLength !== result.textLength) {
        throw new Error(`${kind}: the fresh client got ${r.firstSync.textLength} characters, not ${result.textLength}`)
      }
      return [
        label[kind],
        (r.replayMs / 1000).toFixed(1),
        r.replayServerCores.toFixed(2),
        mib(r.serverRssBytes),
        int(r.firstSync.bytesReceived),
        ms(r.firstSync.syncedMs),
      ]
    })
  const restart = result.restart
  const restartRows = (restart ? (['uncompacted', 'compacted'] as const) : []).map((kind) => {
    const r = restart![kind]
    if (r.firstSync.textLength !== result.textLength) throw new Error(`restart (${kind}): wrong text length`)
    return [
      `log ${kind} (${int(r.storedRows)} rows)`,
      ms(r.startMs),
      ms(r.firstSync.syncedMs),
      int(r.firstSync.bytesReceived),
    ]
  })
  return [
    `${int(result.txns)} transactions, ${int(result.textLength)} characters at the end.`,
    '',
    table(
      ['', ...columns.map(([name]) => name)],
      [
        ...rows,
        ...ratioRows(
          result.servers,
          columns.map(([, c]) => c),
        ).filter(([name]) => name?.includes('y-websocket')),
      ],
    ),
    ...(restart
      ? [
          '',
          'Concord relay restarted on a store holding that document:',
          '',
          table(['', 'start to listening ms', 'first sync ms', 'bytes received'], restartRows),
        ]
      : []),
  ].join('\n')
}

export const ackLatencyReport = (results: PerServer<AckLatencyResult>): string =>
  table(
    ['', 'updates sent', 'acknowledged', 'achieved rate /s', 'p50 ms', 'p99 ms', 'max ms', 'relay CPU, cores'],
    kinds
      .filter((kind) => results[kind])
      .map((kind) => {
        const result = results[kind]!
        return [
          label[kind],
          int(result.sent),
          int(result.acked),
          int(result.achievedRate),
          ms(result.latencyMs.p50),
          ms(result.latencyMs.p99),
          ms(result.latencyMs.max),
          result.serverCores.toFixed(2),
        ]
      }),
  )

export const coldLoadReport = (result: ColdLoadResult): string => {
  const concord = median(result.concordMs)
  const yIndexeddb = median(result.yIndexeddbMs)
  return [
    `${int(result.updates)} stored incremental updates; median of ${result.concordMs.length} cold loads each (every run in the next column).`,
    '',
    table(
      ['', 'cold load ms (median)', 'runs', 'filling the store s'],
      [
        [
          'Concord IndexedDbLocalStore',
          ms(concord),
          result.concordMs.map(ms).join(', '),
          (result.fillMs.concord / 1000).toFixed(1),
        ],
        [
          '  of which opening and reading the store',
          ms(median(result.concordReadMs)),
          result.concordReadMs.map(ms).join(', '),
          '',
        ],
        [
          'y-indexeddb',
          ms(yIndexeddb),
          result.yIndexeddbMs.map(ms).join(', '),
          (result.fillMs.yIndexeddb / 1000).toFixed(1),
        ],
        ['Concord / y-indexeddb', ratio(concord, yIndexeddb), '', ''],
      ],
    ),
  ].join('\n')
}
