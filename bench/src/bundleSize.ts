/**
 * Owns the client bundle scenario: what each library adds to a web app that
 * already ships Yjs. Each entry imports what an app uses, bundled by esbuild
 * for the browser, minified, with yjs external (every app has it either way),
 * then gzipped at level 9.
 */
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'

export interface BundleSize {
  readonly name: string
  readonly imports: string
  readonly minifiedBytes: number
  readonly gzipBytes: number
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
      external: ['yjs'],
      write: false,
      logLevel: 'warning',
    })
    const code = result.outputFiles[0]!.contents
    sizes.push({
      name: entry.name,
      imports: entry.source.replace(/\n/g, '; '),
      minifiedBytes: code.length,
      gzipBytes: gzipSync(code, { level: 9 }).length,
    })
  }
  return sizes
}
