/**
 * Owns the client bundle scenario: what each library adds to a web app that
 * already ships Yjs. Each entry imports what an app uses, bundled by esbuild
 * for the browser, minified, with yjs external (every app has it either way),
 * then gzipped at level 9. Code splitting is on, as in an app's bundler: what
 * a library loads with `import()` only when it is used (Concord's version
 * history, its memory store) is a chunk of its own, counted apart from what
 * the page loads up front (the entry's chunk and every chunk it imports
 * statically, transitively), and each such module's chunks apart as well.
 * The largest inputs of the up-front part come from esbuild's metafile.
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
  /**
   * Each module the entry loads with `import()`: its chunk and the chunks only it needs that are
   * not up front, what the page fetches when that module is first used (a chunk that two of them
   * share is counted in each).
   */
  readonly lazyChunks: ReadonlyArray<{
    readonly module: string
    readonly minifiedBytes: number
    readonly gzipBytes: number
  }>
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
  readonly lazyChunks: BundleSize['lazyChunks']
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
  const outputs = result.metafile.outputs
  /** An output and every chunk it imports statically, and they import, and so on. */
  const staticClosure = (from: string): Set<string> => {
    const reached = new Set<string>()
    const visit = (path: string): void => {
      if (reached.has(path) || !outputs[path]) return
      reached.add(path)
      for (const i of outputs[path].imports) if (i.kind === 'import-statement') visit(i.path)
    }
    visit(from)
    return reached
  }
  // The entry and what it imports statically load up front; the rest only on `import()`.
  const entryPath = Object.keys(outputs).find((path) => outputs[path]!.entryPoint === '<stdin>')!
  const upFront = staticClosure(entryPath)
  const sizeOf = new Map<string, { minified: number; gzip: number }>()
  for (const file of result.outputFiles) {
    const path = Object.keys(outputs).find((name) => file.path.endsWith(name.replace(/^.*\/bundle/, '')))
    if (path !== undefined) {
      sizeOf.set(path, { minified: file.contents.length, gzip: gzipSync(file.contents, { level: 9 }).length })
    }
  }
  let [minifiedBytes, gzipBytes, lazyMinifiedBytes, lazyGzipBytes] = [0, 0, 0, 0]
  const inputs = new Map<string, number>()
  for (const [path, { minified, gzip }] of sizeOf) {
    if (path.endsWith('.map')) continue
    if (upFront.has(path)) {
      minifiedBytes += minified
      gzipBytes += gzip
      for (const [input, { bytesInOutput }] of Object.entries(outputs[path]!.inputs)) {
        inputs.set(shortPath(input), (inputs.get(shortPath(input)) ?? 0) + bytesInOutput)
      }
    } else {
      lazyMinifiedBytes += minified
      lazyGzipBytes += gzip
    }
  }
  const loadedOnUse = new Set(
    [...upFront].flatMap((path) =>
      outputs[path]!.imports.filter((i) => i.kind === 'dynamic-import').map((i) => i.path),
    ),
  )
  const lazyChunks = [...loadedOnUse]
    .filter((path) => outputs[path] !== undefined && !upFront.has(path))
    .map((loaded) => {
      const fetched = [...staticClosure(loaded)].filter((path) => !upFront.has(path))
      const total = (key: 'minified' | 'gzip') => fetched.reduce((sum, path) => sum + (sizeOf.get(path)?.[key] ?? 0), 0)
      return {
        module: shortPath(outputs[loaded]!.entryPoint ?? loaded),
        minifiedBytes: total('minified'),
        gzipBytes: total('gzip'),
      }
    })
    .filter(({ minifiedBytes }) => minifiedBytes > 0)
  return { minifiedBytes, gzipBytes, lazyMinifiedBytes, lazyGzipBytes, lazyChunks, inputs }
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
