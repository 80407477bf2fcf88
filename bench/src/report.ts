/**
 * Owns turning results into the Markdown tables of BENCHMARKS.md: one table
 * per scenario, with the ratios of Concord to each other server.
 */
import type { ColdLoadResult } from './coldLoad/coldLoad.js'
import type { AckLatencyResult } from './load/ackLatency.js'
import type { ConnectionsResult } from './load/connections.js'
import type { FanoutResult, PhaseResult } from './load/fanout.js'
import type { LargeDocScenarioResult, PerServer } from './scenarios.js'
import type { ServerKind } from './serverProcess.js'

import type { JoinStormResult } from './load/joinStorm.js'
import { int, kinds, label, mib, ms, ratio, table } from './markdown.js'
import type { BundleSize } from './bundleSize.js'
import type { ClusterResult } from './clusterScenario.js'
import type { JoinStormScenarioResult, MemoryEntry } from './scenarios.js'

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((x, y) => x - y)
  return sorted[Math.floor((sorted.length - 1) / 2)]!
}
const kib = (bytes: number): string => (bytes / 1024).toFixed(1)

/** The peers Concord is measured against, in the order of the ratio rows. */
const peers: ServerKind[] = ['bare-ws-corked', 'hocuspocus', 'y-websocket', 'bare-ws']

/** Concord / each peer for the given columns. */
const ratioRows = <T>(results: PerServer<T>, columns: Array<(result: T) => number | undefined>): string[][] =>
  peers
    .filter((peer) => results[peer])
    .map((peer) => [
      `Concord / ${label[peer]}`,
      ...columns.map((column) =>
        ratio(results.concord && column(results.concord), results[peer] && column(results[peer])),
      ),
    ])

/** CPU time the server spent per update it delivered, at saturation: what a core of its own would sustain. */
export const cpuPerDelivery = (r: FanoutResult): number => (r.saturate.serverCpuMs * 1000) / r.saturate.delivered
/** Relay CPU per update it was sent at a fixed rate (each update goes to every other client of its document). */
export const cpuPerUpdate = (r: PhaseResult): number => (r.serverCpuMs * 1000) / r.sent

export const fanoutReport = (results: PerServer<FanoutResult>): string => {
  const present = kinds.filter((kind) => results[kind])
  const saturated = table(
    [
      '',
      'delivered/s',
      'server CPU, cores',
      'server CPU µs per delivery',
      'deliveries per server CPU-second',
      'p50 / p99 ms',
      'sent / delivered / missing',
      'echoes to sender',
      'server RSS MiB',
    ],
    [
      ...present.map((kind) => {
        const r = results[kind]!
        return [
          label[kind],
          int(r.saturate.deliveredPerSecond),
          r.saturate.serverCores.toFixed(2),
          cpuPerDelivery(r).toFixed(2),
          int(1e6 / cpuPerDelivery(r)),
          `${ms(r.saturate.latencyMs.p50)} / ${ms(r.saturate.latencyMs.p99)}`,
          `${int(r.saturate.sent)} / ${int(r.saturate.delivered)} / ${int(r.saturate.undelivered)}`,
          int(r.echoes),
          mib(r.saturate.serverRssBytes),
        ]
      }),
      ...ratioRows(results, [
        (r) => r.saturate.deliveredPerSecond,
        (r) => r.saturate.serverCores,
        (r) => cpuPerDelivery(r),
        (r) => 1 / cpuPerDelivery(r),
        (r) => r.saturate.latencyMs.p99,
        () => undefined,
        () => undefined,
        (r) => r.saturate.serverRssBytes,
      ]),
    ],
  )
  const rates = [...new Set(present.flatMap((kind) => results[kind]!.fixed.map((phase) => phase.targetRate)))]
  const fixed = rates.map((rate) => {
    const at = (r: FanoutResult): PhaseResult | undefined => r.fixed.find((phase) => phase.targetRate === rate)
    const rows = present
      .filter((kind) => at(results[kind]!))
      .map((kind) => {
        const r = at(results[kind]!)!
        return [
          label[kind],
          int((r.sent * 1000) / r.durationMs),
          int(r.deliveredPerSecond),
          ms(r.latencyMs.p50),
          ms(r.latencyMs.p99),
          ms(r.latencyMs.max),
          cpuPerUpdate(r).toFixed(1),
          r.serverCores.toFixed(2),
          int(r.undelivered),
        ]
      })
    const ratios = ratioRows(results, [
      (r) => at(r)?.sent,
      (r) => at(r)?.deliveredPerSecond,
      (r) => at(r)?.latencyMs.p50,
      (r) => at(r)?.latencyMs.p99,
      (r) => at(r)?.latencyMs.max,
      (r) => (at(r) ? cpuPerUpdate(at(r)!) : undefined),
      (r) => at(r)?.serverCores,
      () => undefined,
    ])
    return [
      `Fixed rate: ${int(rate)} updates/s asked for.`,
      '',
      table(
        [
          '',
          'updates/s sent',
          'delivered/s',
          'p50 ms',
          'p99 ms',
          'max ms',
          'server CPU µs per update',
          'server CPU, cores',
          'missing',
        ],
        [...rows, ...ratios],
      ),
    ].join('\n')
  })
  return ['Saturated (closed loop):', '', saturated, '', ...fixed.flatMap((block) => [block, ''])].join('\n')
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
  const failures = kinds
    .filter((kind) => result.failed[kind])
    .map((kind) => `**${label[kind]} failed**: ${result.failed[kind]}`)
  const rows = kinds
    .filter((kind) => result.servers[kind])
    .map((kind) => {
      const r = result.servers[kind]!
      if (r.firstSync.textLength !== result.textLength) {
        failures.push(
          `**${label[kind]}: wrong document**: the fresh client got ${r.firstSync.textLength} characters, not ${result.textLength}`,
        )
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
      mib(r.peakRssBytes),
    ]
  })
  return [
    `${int(result.txns)} transactions, ${int(result.textLength)} characters at the end.`,
    '',
    ...failures.flatMap((line) => [line, '']),
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
          table(['', 'start to listening ms', 'first sync ms', 'bytes received', 'peak RSS MiB'], restartRows),
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

const stormTable = (results: PerServer<JoinStormResult>): string =>
  table(
    ['', 'synced p50 ms', 'p99 ms', 'max ms', 'peak RSS MiB', 'RSS before MiB', 'server CPU ms', 'bytes per client'],
    [
      ...kinds
        .filter((kind) => results[kind])
        .map((kind) => {
          const r = results[kind]!
          return [
            label[kind],
            ms(r.syncedMs.p50),
            ms(r.syncedMs.p99),
            ms(r.syncedMs.max),
            mib(r.peakRssBytes),
            mib(r.rssBeforeBytes),
            int(r.serverCpuMs),
            int(r.bytesPerClient),
          ]
        }),
      ...ratioRows(results, [
        (r) => r.syncedMs.p50,
        (r) => r.syncedMs.p99,
        (r) => r.syncedMs.max,
        (r) => r.peakRssBytes,
        (r) => r.rssBeforeBytes,
        (r) => r.serverCpuMs,
        (r) => r.bytesPerClient,
      ]),
    ],
  )

export const joinStormReport = (result: JoinStormScenarioResult): string =>
  [
    `${int(result.clients)} fresh clients open one document at once: the trace's ${int(result.txns)} transactions, ${int(result.snapshotBytes)} bytes as one update.`,
    '',
    'Loaded (a writer put the document in the server first and stays connected):',
    '',
    stormTable(result.loaded),
    '',
    'Must load (Concord: from its SQLite store, one row; the others: from a file, through their load hook):',
    '',
    stormTable(result.mustLoad),
  ].join('\n')

export const memoryReport = (entries: readonly MemoryEntry[]): string => {
  const heap = (entry: MemoryEntry, thread: string): string => {
    const found = entry.threads.find((t) => t.thread === thread)
    return found ? `${mib(found.heapUsedBytes)} / ${mib(found.heapTotalBytes)}` : ''
  }
  const external = (entry: MemoryEntry): string =>
    mib(entry.threads.find((t) => t.thread === 'main')?.externalBytes ?? 0)
  return [
    'RSS as each scenario left the server, then after a full garbage collection of every thread;',
    'V8 heap used / total per thread after it (the store worker is Concord’s SQLite thread; SQLite’s page cache is outside any heap).',
    '',
    table(
      [
        'scenario',
        'server',
        'RSS MiB',
        'RSS after GC MiB',
        'main heap MiB',
        'main external MiB',
        'store worker heap MiB',
      ],
      entries.map((entry) => [
        entry.scenario,
        label[entry.kind],
        mib(entry.rssBytes),
        mib(entry.rssAfterGcBytes),
        heap(entry, 'main'),
        external(entry),
        heap(entry, 'store worker'),
      ]),
    ),
    '',
    'Where the RSS after the collection (before it) is (/proc/PID/smaps): mapped files (node, native addons), glibc’s malloc',
    'arena of the main thread and those of the other threads, the other anonymous memory (V8’s heap pages of every',
    'thread, stacks, large mallocs); and the V8 heap each thread has committed, after and before the collection.',
    '',
    table(
      [
        'scenario',
        'server',
        'files MiB',
        'main arena MiB',
        'thread arenas MiB',
        'other anonymous MiB',
        'V8 committed per thread MiB (before the collection; its young generation)',
      ],
      entries.map((entry) => [
        entry.scenario,
        label[entry.kind],
        ...(['fileBytes', 'mainArenaBytes', 'threadArenaBytes', 'otherAnonymousBytes'] as const).map((key) =>
          entry.mappings && entry.mappingsBeforeGc
            ? `${mib(entry.mappings[key])} (${mib(entry.mappingsBeforeGc[key])})`
            : '',
        ),
        entry.threads
          .map((thread) => {
            const committed = (spaces: Record<string, number> | undefined): number =>
              Object.values(spaces ?? {}).reduce((sum, bytes) => sum + bytes, 0)
            const young = thread.spacesBeforeGc?.new_space ?? 0
            return `${thread.thread} ${mib(committed(thread.spaces))} (before: ${mib(committed(thread.spacesBeforeGc))}, young ${mib(young)})`
          })
          .join(', '),
      ]),
    ),
  ].join('\n')
}

export const bundleReport = (sizes: readonly BundleSize[]): string => {
  const base = sizes.find((size) => size.name === 'y-websocket + y-indexeddb')
  const concord = sizes.find((size) => size.name === 'concord')
  return [
    'esbuild, browser, minified, yjs external, code splitting on; gzip level 9. Up front: what the page loads with the entry (its chunk and every chunk it imports statically); on first use: the chunks it loads with `import()`, all together and by module (each with the chunks only it needs). lib0 is bundled on both sides; the last two columns build each entry again with lib0 external as well (yjs ships it), on both sides alike. A subpath weighs its entry less `concord`.',
    '',
    table(
      [
        'bundle',
        'imports',
        'up front: minified KB',
        'gzip KB',
        'gzip bytes',
        'gzip / y-websocket + y-indexeddb',
        'on first use: gzip KB',
        'on first use, by module: gzip bytes',
        'lib0 external too: gzip KB',
        'lib0 external: / y-websocket + y-indexeddb',
      ],
      sizes.map((size) => [
        size.name,
        `\`${size.imports}\``,
        kib(size.minifiedBytes),
        kib(size.gzipBytes),
        int(size.gzipBytes),
        ratio(size.gzipBytes, base?.gzipBytes),
        size.lazyGzipBytes > 0 ? kib(size.lazyGzipBytes) : '',
        size.lazyChunks.map(({ module, gzipBytes }) => `${module.replace(/^.*\//, '')} ${int(gzipBytes)}`).join(', '),
        kib(size.lib0ExternalGzipBytes),
        ratio(size.lib0ExternalGzipBytes, base?.lib0ExternalGzipBytes),
      ]),
    ),
    ...(concord
      ? [
          '',
          `What \`createClient\`'s up-front part holds (minified bytes per input, ${kib(concord.minifiedBytes)} KB in all):`,
          '',
          table(
            ['input', 'minified bytes'],
            concord.inputs.slice(0, 24).map(({ file, bytes }) => [`\`${file}\``, int(bytes)]),
          ),
        ]
      : []),
  ].join('\n')
}

export const clusterReport = (result: ClusterResult): string => {
  const rows: Array<[string, FanoutResult]> = [
    ['one relay, PostgreSQL', result.oneRelay],
    ['two relays, PostgreSQL + Redis (both)', result.twoRelays],
  ]
  const rates = result.oneRelay.fixed.map((phase) => phase.targetRate)
  const latency = (phase: PhaseResult | undefined): string =>
    phase ? `${ms(phase.latencyMs.p50)} / ${ms(phase.latencyMs.p99)}` : ''
  const cross = (phase: PhaseResult | undefined): string =>
    phase?.crossRelayLatencyMs ? `${ms(phase.crossRelayLatencyMs.p50)} / ${ms(phase.crossRelayLatencyMs.p99)}` : ''
  return table(
    [
      '',
      'saturated: delivered/s',
      'CPU µs per delivery (saturated, all relays)',
      ...rates.flatMap((rate) => [
        `${int(rate)}/s: p50 / p99 ms`,
        `${int(rate)}/s: cross-relay p50 / p99 ms`,
        `${int(rate)}/s: CPU µs per update`,
      ]),
    ],
    [
      ...rows.map(([name, r]) => [
        name,
        int(r.saturate.deliveredPerSecond),
        cpuPerDelivery(r).toFixed(2),
        ...rates.flatMap((rate) => {
          const phase = r.fixed.find((p) => p.targetRate === rate)
          return [latency(phase), cross(phase), phase ? cpuPerUpdate(phase).toFixed(1) : '']
        }),
      ]),
      [
        'two / one',
        ratio(result.twoRelays.saturate.deliveredPerSecond, result.oneRelay.saturate.deliveredPerSecond),
        ratio(cpuPerDelivery(result.twoRelays), cpuPerDelivery(result.oneRelay)),
        ...rates.flatMap((rate) => {
          const one = result.oneRelay.fixed.find((p) => p.targetRate === rate)
          const two = result.twoRelays.fixed.find((p) => p.targetRate === rate)
          return [
            ratio(two?.latencyMs.p99, one?.latencyMs.p99),
            '',
            ratio(two && cpuPerUpdate(two), one && cpuPerUpdate(one)),
          ]
        }),
      ],
    ],
  )
}
