/**
 * `node bench/dist/historyProfile.js <cpu-profile-folder>`: the share of each relay thread's busy
 * CPU time (samples that are not idle) spent under the version-history modules, from the
 * .cpuprofile files of `--only history --cpu-prof`. A share within one process holds under the
 * machine's load far better than a ratio of two runs does. Also the heaviest entry points into them.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string }
  readonly children?: readonly number[]
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[]
  readonly samples: readonly number[]
  readonly timeDeltas: readonly number[]
}

const historyModule = /(documentHistory|versionPolicy|versionThinning|versionRetention|sqliteVersionRows)\.js$/
const shortName = (frame: ProfileNode['callFrame']): string =>
  `${frame.functionName || '(anonymous)'} ${frame.url.split('/').pop() ?? ''}`

const dir = process.argv[2]
if (!dir) {
  console.error('usage: node historyProfile.js <folder of .cpuprofile files>')
  process.exit(2)
}
for (const file of readdirSync(dir).filter((name) => name.endsWith('.cpuprofile'))) {
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]))
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  // The outermost history frame of a sample's stack: the entry point it is counted under.
  const entryOf = (id: number): ProfileNode | undefined => {
    let entry: ProfileNode | undefined
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const node = nodes.get(at)!
      if (historyModule.test(node.callFrame.url)) entry = node
    }
    return entry
  }
  let busyUs = 0
  let historyUs = 0
  const entries = new Map<string, number>()
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0
    if (nodes.get(id)!.callFrame.functionName === '(idle)') return
    busyUs += delta
    const entry = entryOf(id)
    if (!entry) return
    historyUs += delta
    entries.set(shortName(entry.callFrame), (entries.get(shortName(entry.callFrame)) ?? 0) + delta)
  })
  const top = [...entries]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4)
    .map(([name, us]) => `${name} ${(us / 1000).toFixed(0)} ms`)
  process.stdout.write(
    `${file}: busy ${(busyUs / 1000).toFixed(0)} ms, under history ${(historyUs / 1000).toFixed(0)} ms ` +
      `(${((100 * historyUs) / busyUs).toFixed(2)}%)${top.length > 0 ? `; ${top.join(', ')}` : ''}\n`,
  )
}
