/**
 * `pnpm bench [--quick] [--only fanout,storm,connections,large,ack,coldload,realcold,idblarge,bundle,cluster,history,versions]
 * [--servers concord,y-websocket,hocuspocus,bare-ws-corked,bare-ws] [--cpu-prof] [--heap-snapshot] [--baseline DIR]`:
 * runs the scenarios and prints the Markdown report (the targets
 * first, each server's memory after each scenario last), and writes it, with
 * the raw results as JSON, to bench/results/.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { measureBundles } from './bundleSize.js'
import { runClusterScenario } from './clusterScenario.js'
import { historyFanoutReport, versionCostReport } from './historyReport.js'
import { runHistoryFanoutScenario, runVersionCostScenario } from './historyScenario.js'
import { profiles } from './profiles.js'
import type { ServerKind } from './serverProcess.js'
import {
  ackLatencyReport,
  bundleReport,
  clusterReport,
  coldLoadReport,
  connectionsReport,
  fanoutReport,
  joinStormReport,
  largeDocReport,
  memoryReport,
} from './report.js'
import {
  runAckLatencyScenario,
  runColdLoadScenario,
  runConnectionsScenario,
  runFanoutScenario,
  runIdbLargeScenario,
  runJoinStormScenario,
  runLargeDocScenario,
  runRealColdScenario,
  type MemoryEntry,
  type RunOptions,
} from './scenarios.js'
import { idbLargeReport, realColdReport } from './sessionReport.js'
import { targetsReport } from './targets.js'

const scenarioNames = [
  'fanout',
  'storm',
  'connections',
  'large',
  'ack',
  'coldload',
  'realcold',
  'idblarge',
  'bundle',
  'cluster',
  'history',
  'versions',
] as const
type ScenarioName = (typeof scenarioNames)[number]

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    servers: { type: 'string' },
    'heap-snapshot': { type: 'boolean', default: false },
    baseline: { type: 'string' },
  },
})
const only = values.only?.split(',') ?? [...scenarioNames]
for (const name of only) {
  if (!(scenarioNames as readonly string[]).includes(name)) {
    console.error(`unknown scenario "${name}"; pick from ${scenarioNames.join(', ')}`)
    process.exit(2)
  }
}
const profile = profiles[values.quick ? 'quick' : 'full']
const resultsDir = fileURLToPath(new URL('../results/', import.meta.url))
const stamp = new Date().toISOString().replace(/[:.]/g, '-')
mkdirSync(resultsDir, { recursive: true })
if (values['heap-snapshot']) mkdirSync(`${resultsDir}heap-${stamp}`)
const memory: MemoryEntry[] = []
const options: RunOptions = {
  memory,
  servers: values.servers?.split(',') as ServerKind[] | undefined,
  cpuProfileDir: values['cpu-prof'] ? `${resultsDir}cpu-${stamp}` : undefined,
  heapSnapshotDir: values['heap-snapshot'] ? `${resultsDir}heap-${stamp}` : undefined,
  baselineRoot: values.baseline,
  log: (line) => process.stderr.write(`[${((performance.now() - startedAt) / 1000).toFixed(0)} s] ${line}\n`),
}
const startedAt = performance.now()
const loadAtStart = loadavg()

const sections: Array<[string, (raw: Record<string, unknown>) => Promise<string>]> = []
const add = (name: ScenarioName, title: string, run: (raw: Record<string, unknown>) => Promise<string>): void => {
  if (only.includes(name)) sections.push([title, run])
}
add('fanout', '1. Fan-out', async (raw) =>
  fanoutReport((raw.fanout = await runFanoutScenario(profile, options)) as never),
)
add('storm', '2. Join storm', async (raw) =>
  joinStormReport((raw.storm = await runJoinStormScenario(profile, options)) as never),
)
add('connections', '3. Idle connections', async (raw) =>
  connectionsReport((raw.connections = await runConnectionsScenario(profile, options)) as never),
)
add('large', '4. Large document', async (raw) =>
  largeDocReport((raw.large = await runLargeDocScenario(profile, options)) as never),
)
add('ack', '5. Durable ack latency (Concord only)', async (raw) =>
  ackLatencyReport((raw.ack = await runAckLatencyScenario(profile, options)) as never),
)
add('coldload', '6. Client cold load in Chromium', async (raw) =>
  coldLoadReport((raw.coldload = await runColdLoadScenario(profile, options)) as never),
)
add('realcold', '6b. Client: a realistic cold load in Chromium', async (raw) =>
  realColdReport((raw.realcold = await runRealColdScenario(profile, options)) as never),
)
add('idblarge', '6c. Client: the large document from IndexedDB against a bare apply', async (raw) =>
  idbLargeReport((raw.idblarge = await runIdbLargeScenario(profile, options)) as never),
)
add('bundle', '7. Client bundle', async (raw) => bundleReport((raw.bundle = await measureBundles()) as never))
add('cluster', '8. Cluster: two relays over PostgreSQL and Redis', async (raw) =>
  clusterReport((raw.cluster = await runClusterScenario(profile, options)) as never),
)
add('history', '9. Fan-out with version history on and off (Concord only)', async (raw) =>
  historyFanoutReport((raw.history = await runHistoryFanoutScenario(profile, options)) as never),
)
add('versions', '10. One version of the automerge-paper document', async (raw) =>
  versionCostReport((raw.versions = await runVersionCostScenario(profile, options)) as never),
)

const raw: Record<string, unknown> = { profile }
const report: string[] = []
for (const [title, run] of sections) {
  // A scenario that fails is reported as such; the others still run.
  const body = await run(raw).catch((error: unknown) => {
    options.log(`${title} failed: ${String(error)}`)
    return `**Failed**: ${error instanceof Error ? error.message : String(error)}`
  })
  report.push(`### ${title}\n\n${body}\n`)
}
raw.memory = memory
if (memory.length > 0) report.push(`### Memory after each scenario\n\n${memoryReport(memory)}\n`)
report.unshift(`### Targets (issue 20)\n\n${targetsReport(raw)}\n`)
const header = [
  `Profile \`${profile.name}\`, ${new Date().toISOString()}; ${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}),`,
  `Node ${process.version}; load average ${loadAtStart.map((l) => l.toFixed(2)).join(' ')} at the start,`,
  `${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} at the end; ${((performance.now() - startedAt) / 1000).toFixed(0)} s in all.`,
].join(' ')
const markdown = `${header}\n\n${report.join('\n')}`
writeFileSync(`${resultsDir}${stamp}-${profile.name}.md`, markdown)
writeFileSync(`${resultsDir}${stamp}-${profile.name}.json`, JSON.stringify(raw, null, 2))
process.stdout.write(`${markdown}\nWritten to bench/results/${stamp}-${profile.name}.md\n`)
