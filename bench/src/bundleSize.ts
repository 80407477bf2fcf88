/**
 * Owns the client bundle scenario: what each library adds to a web app that
 * already ships Yjs. Each entry imports what an app uses, bundled by esbuild
 * for the browser, minified, with yjs external (every app has it either way),
 * then gzipped at level 9. Code splitting is on, as in an app's bundler: what
 * a library loads with `import()` only when it is used (Concord's version
 * history, its memory store) is a chunk of its own, counted apart from what
 * the page loads up front. The largest inputs of the up-front part come from
 * esbuild's metafile.
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
  /** The minified bytes each input file puts into the up-front part, largest first. */
  readonly inputs: ReadonlyArray<{ readonly file: string; readonly bytes: number }>
}

export const bundleEntries: ReadonlyArray<{ readonly name: string; readonly source: string }> = [
  { name: 'concord', source: "export { createClient } from '@concord/client'" },
  { name: 'concord-all', source: "export * from '@concord/client'" },
  {
    name: 'y-websocket + y-indexeddb',
    source: "export { WebsocketProvider } from 'y-websocket'\nexport { IndexeddbPersistence } from 'y-indexeddb'",
  },
  { name: 'hocuspocus-provider', source: "export { HocuspocusProvider } from '@hocuspocus/provider'" },
]

const benchDir = fileURLToPath(new URL('..', import.meta.url))

/** A path inside node_modules or the workspace, without the machine's folders. */
const shortPath = (file: string): string => file.replace(/^.*node_modules\//, '').replace(/^(\.\.\/)+/, '')

export const measureBundles = async (): Promise<BundleSize[]> => {
  const sizes: BundleSize[] = []
  for (const entry of bundleEntries) {
    const result = await build({
      stdin: { contents: entry.source, resolveDir: benchDir, loader: 'js' },
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      minify: true,
      splitting: true,
      outdir: '/bundle',
      external: ['yjs'],
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
    sizes.push({
      name: entry.name,
      imports: entry.source.replace(/\n/g, '; '),
      minifiedBytes,
      gzipBytes,
      lazyMinifiedBytes,
      lazyGzipBytes,
      inputs: [...inputs]
        .map(([file, bytes]) => ({ file, bytes }))
        .filter(({ bytes }) => bytes > 0)
        .sort((a, b) => b.bytes - a.bytes),
    })
  }
  return sizes
}
