/**
 * Owns the targets (issue 20) and whether one run meets them: each
 * target is a ratio of Concord to another server in the same run, so the
 * machine's load weighs on both sides alike.
 */
import type { ColdLoadResult } from './coldLoad/coldLoad.js'
import type { IdbLargeResult } from './coldLoad/idbLarge.js'
import type { RealColdResult } from './coldLoad/realCold.js'
import type { BundleSize } from './bundleSize.js'
import type { ClusterResult } from './clusterScenario.js'
import type { FanoutResult } from './load/fanout.js'
import { table } from './markdown.js'
import { cpuPerDelivery, cpuPerUpdate } from './report.js'
import type { JoinStormScenarioResult, LargeDocScenarioResult, PerServer } from './scenarios.js'

interface Target {
  readonly name: string
  /** Concord's figure over the other's; undefined when one of them did not run. */
  readonly value: number | undefined
  /** The ratio must be at least (`min`) or at most (`max`) this. */
  readonly bound: { readonly min: number } | { readonly max: number }
}

const over = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined || b === undefined ? undefined : a / b

const median = (values: readonly number[]): number => [...values].sort((x, y) => x - y)[(values.length - 1) >> 1]!

export const targetsReport = (raw: Record<string, unknown>): string => {
  const fanout = raw.fanout as PerServer<FanoutResult> | undefined
  const storm = raw.storm as JoinStormScenarioResult | undefined
  const large = raw.large as LargeDocScenarioResult | undefined
  const coldload = raw.coldload as ColdLoadResult | undefined
  const bundle = raw.bundle as BundleSize[] | undefined
  const realcold = raw.realcold as RealColdResult | undefined
  const idblarge = raw.idblarge as IdbLargeResult | undefined
  const perCpuSecond = (r: FanoutResult | undefined): number | undefined => r && 1 / cpuPerDelivery(r)
  const targets: Target[] = [
    {
      name: 'saturated fan-out: deliveries per CPU-second ≥ 0.8x the corked bare server',
      value: over(perCpuSecond(fanout?.concord), perCpuSecond(fanout?.['bare-ws-corked'])),
      bound: { min: 0.8 },
    },
    {
      name: 'saturated fan-out: deliveries per CPU-second ≥ 3x Hocuspocus',
      value: over(perCpuSecond(fanout?.concord), perCpuSecond(fanout?.hocuspocus)),
      bound: { min: 3 },
    },
  ]
  for (const phase of fanout?.concord?.fixed ?? []) {
    const peer = (kind: 'bare-ws-corked' | 'hocuspocus') =>
      fanout?.[kind]?.fixed.find((p) => p.targetRate === phase.targetRate)
    const corked = peer('bare-ws-corked')
    const hocuspocus = peer('hocuspocus')
    targets.push(
      {
        name: `fixed ${phase.targetRate.toLocaleString('en-US')} updates/s: p99 ≤ 1.5x the corked bare server`,
        value: over(phase.latencyMs.p99, corked?.latencyMs.p99),
        bound: { max: 1.5 },
      },
      {
        name: `fixed ${phase.targetRate.toLocaleString('en-US')} updates/s: relay CPU per update ≤ Hocuspocus's`,
        value: over(cpuPerUpdate(phase), hocuspocus && cpuPerUpdate(hocuspocus)),
        bound: { max: 1 },
      },
    )
  }
  targets.push(
    {
      name: "RSS at the end of the fan-out ≤ the y-websocket server's",
      value: over(fanout?.concord?.saturate.serverRssBytes, fanout?.['y-websocket']?.saturate.serverRssBytes),
      bound: { max: 1 },
    },
    {
      name: "RSS after the large document (collected) ≤ the y-websocket server's",
      value: over(large?.servers.concord?.serverRssBytes, large?.servers['y-websocket']?.serverRssBytes),
      bound: { max: 1 },
    },
  )
  for (const [name, results] of [
    ['loaded', storm?.loaded],
    ['must load', storm?.mustLoad],
  ] as const) {
    targets.push(
      {
        name: `join storm (${name}): p99 time to synced ≤ 1/3 of the y-websocket server's`,
        value: over(results?.concord?.syncedMs.p99, results?.['y-websocket']?.syncedMs.p99),
        bound: { max: 1 / 3 },
      },
      {
        name: `join storm (${name}): peak RSS ≤ the y-websocket server's`,
        value: over(results?.concord?.peakRssBytes, results?.['y-websocket']?.peakRssBytes),
        bound: { max: 1 },
      },
    )
  }
  const cluster = raw.cluster as ClusterResult | undefined
  targets.push({
    name: "cluster: CPU per delivery (2 relays, saturated) ≤ 1.5x one relay's",
    value: cluster && over(cpuPerDelivery(cluster.twoRelays), cpuPerDelivery(cluster.oneRelay)),
    bound: { max: 1.5 },
  })
  targets.push(
    {
      name: 'client cold load (10,000 stored updates) at least as fast as y-indexeddb',
      value: coldload && over(median(coldload.concordMs), median(coldload.yIndexeddbMs)),
      bound: { max: 1 },
    },
    {
      // The median of the ratios of opens made one after the other: the load weighs on both alike.
      name: 'client: realistic cold load (the same session through each library) at least as fast as y-indexeddb',
      value: realcold && median(realcold.pairRatios),
      bound: { max: 1 },
    },
    {
      name: 'client: the large document from IndexedDB ≤ 1.2x a bare `Y.applyUpdate` of its snapshot',
      value: idblarge && median(idblarge.pageRatios),
      bound: { max: 1.2 },
    },
    {
      name: 'client bundle (gzip, yjs external) ≤ 1.2x y-websocket + y-indexeddb',
      value: over(
        bundle?.find((b) => b.name === 'concord')?.gzipBytes,
        bundle?.find((b) => b.name === 'y-websocket + y-indexeddb')?.gzipBytes,
      ),
      bound: { max: 1.2 },
    },
  )
  return table(
    ['target', 'bound', 'this run', 'verdict'],
    targets.map((target) => {
      const bound = 'min' in target.bound ? `≥ ${target.bound.min.toFixed(2)}x` : `≤ ${target.bound.max.toFixed(2)}x`
      const met =
        target.value === undefined
          ? 'not measured'
          : ('min' in target.bound ? target.value >= target.bound.min : target.value <= target.bound.max)
            ? 'met'
            : '**missed**'
      return [target.name, bound, target.value === undefined ? 'n/a' : `${target.value.toFixed(2)}x`, met]
    }),
  )
}
