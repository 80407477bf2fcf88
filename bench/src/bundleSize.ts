/**
 * Owns the client bundle scenario: what each library adds to a web app that
 * already ships Yjs. Each entry imports what an app uses, bundled by esbuild
 * for the browser, minified, with yjs external (every app has it either way),
 * then gzipped at level 9. Code splitting is on, as in an app's bundler: what
 * a library loads with `import()` only when it is used (Concord's version
 * history, its memory store) is a chunk of its own, counted apart from what
 * the page loads up front. The largest inputs of the up-front part come from
 * esbuild's metafile.
 *
 * lib0 is bundled on both sides, as the main figure: yjs depends on it, so an
 * app that ships yjs ships the parts of lib0 yjs uses, which neither side
 * should be charged for; each entry is therefore built a second time with lib0
 * external as well (on both sides alike), the figure with nothing shared.
 * Concord's optional parts are subpath exports (`@concord/client/history`,
 * `/y-websocket`): what each adds is its entry's size less `concord`'s.
 */
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'

export interface BundleSize {
  readonly name: string
  readonly imports: string
  /** What the page loads up front. */
  readonly minifiedBytes: number
  readonly gzipBytes: number
  /** The chunks loaded by `import()` when first used, all together. */
  readonly lazyMinifiedBytes: number
  readonly lazyGzipBytes: number
  /** The same entry with lib0 external too (as yjs): up front, minified and gzip. */
  readonly lib0ExternalMinifiedBytes: number
  readonly lib0ExternalGzipBytes: number
  /** The minified bytes each input file puts into the up-front part, largest first. */
  readonly inputs: ReadonlyArray<{ readonly file: string; readonly bytes: number }>
}

export const bundleEntries: ReadonlyArray<{ readonly name: string; readonly source: string }> = [
  { name: 'concord', source: "export { createClient } from '@concord/client'" },
  {
    name: 'concord + history',
    source: "export { createClient } from '@concord/client'\nexport { versionHistory } from '@concord/client/history'",
  },
  {
    name: 'concord + y-websocket',
    source:
      "export { createClient } from '@concord/client'\nexport { yWebsocketWire } from '@concord/client/y-websocket'",
  },
  {
    name: 'concord-all',
    source:
      "export * from '@concord/client'\nexport * from '@concord/client/history'\nexport * from '@concord/client/y-websocket'",
  },
  {
    name: 'y-websocket + y-indexeddb',
    source: "export { WebsocketProvider } from 'y-websocket'\nexport { IndexeddbPersistence } from 'y-indexeddb'",
  },
  { name: 'hocuspocus-provider', source: "export { HocuspocusProvider } from '@hocuspocus/provider'" },
]

const benchDir = fileURLToPath(new URL('..', import.meta.url))

/** A path inside node_modules or the workspace, without the machine's folders. */
const shortPath = (file: string): string => file.replace(/^.*node_modules\//, '').replace(/^(\.\.\/)+/, '')

interface Built {
  readonly minifiedBytes: number
  readonly gzipBytes: number
  readonly lazyMinifiedBytes: number
  readonly lazyGzipBytes: number
  readonly inputs: Map<string, number>
}

const bundle = async (source: string, external: string[]): Promise<Built> => {
  const result = await build({
    stdin: { contents: source, resolveDir: benchDir, loader: 'js' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    splitting: true,
    outdir: '/bundle',
    external,
    write: false,
    metafile: true,
    logLevel: 'warning',
  })
  const outputs = Object.entries(result.metafile.outputs)
  const [entryPath, entryOutput] = outputs.find(([, output]) => output.entryPoint !== undefined)!
  // Chunks the entry imports statically load up front with it; the others only on `import()`.
  const upFront = new Set([
    entryPath,
    ...entryOutput.imports.filter((i) => i.kind === 'import-statement').map((i) => i.path),
  ])
  let [minifiedBytes, gzipBytes, lazyMinifiedBytes, lazyGzipBytes] = [0, 0, 0, 0]
  const inputs = new Map<string, number>()
  for (const file of result.outputFiles) {
    const path = outputs.find(([name]) => file.path.endsWith(name.replace(/^.*\/bundle/, '')))?.[0]
    const gzip = gzipSync(file.contents, { level: 9 }).length
    if (path !== undefined && upFront.has(path)) {
      minifiedBytes += file.contents.length
      gzipBytes += gzip
      for (const [input, { bytesInOutput }] of Object.entries(result.metafile.outputs[path]!.inputs)) {
        inputs.set(shortPath(input), (inputs.get(shortPath(input)) ?? 0) + bytesInOutput)
      }
    } else {
      lazyMinifiedBytes += file.contents.length
      lazyGzipBytes += gzip
    }
  }
  return { minifiedBytes, gzipBytes, lazyMinifiedBytes, lazyGzipBytes, inputs }
}

export const measureBundles = async (): Promise<BundleSize[]> => {
  const sizes: BundleSize[] = []
  for (const entry of bundleEntries) {
    const { inputs, ...built } = await bundle(entry.source, ['yjs'])
    const withoutLib0 = await bundle(entry.source, ['yjs', 'lib0', 'lib0/*'])
    sizes.push({
      name: entry.name,
      imports: entry.source.replace(/\n/g, '; '),
      ...built,
      lib0ExternalMinifiedBytes: withoutLib0.minifiedBytes,
      lib0ExternalGzipBytes: withoutLib0.gzipBytes,
      inputs: [...inputs]
        .map(([file, bytes]) => ({ file, bytes }))
        .filter(({ bytes }) => bytes > 0)
        .sort((a, b) => b.bytes - a.bytes),
    })
  }
  return sizes
}
