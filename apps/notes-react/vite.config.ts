/**
 * Builds the notes app into dist/: index.html and its hashed files, and the
 * service worker at a fixed address (/sw.js) with the list of every built
 * file written into it, so it can store the whole app shell on install.
 * JSX is compiled by Vite's own transform (the automatic runtime), so no
 * React plugin is needed.
 */
import { createHash } from 'node:crypto'
import { defineConfig, type Plugin } from 'vite'

const serviceWorkerEntry = 'sw'

const appShellManifest = (): Plugin => ({
  name: 'concord-notes-react:app-shell-manifest',
  apply: 'build',
  // After Vite's own plugins, so every file of the build is in the bundle.
  enforce: 'post',
  generateBundle(_options, bundle) {
    const worker = Object.values(bundle).find((file) => file.type === 'chunk' && file.name === serviceWorkerEntry)
    if (worker?.type !== 'chunk') throw new Error('the service worker chunk is missing from the build')
    // The page is stored as `/`, the address it is served at.
    const files = Object.keys(bundle)
      .filter((fileName) => fileName !== worker.fileName)
      .map((fileName) => (fileName === 'index.html' ? '/' : `/${fileName}`))
      .sort()
    const version = createHash('sha256').update(files.join('\n')).digest('hex').slice(0, 12)
    if (!worker.code.includes('__APP_SHELL__')) throw new Error('the service worker does not read __APP_SHELL__')
    worker.code = worker.code.replaceAll('__APP_SHELL__', JSON.stringify({ version, files }))
  },
})

export default defineConfig({
  // One copy of each in the page: the client's and the bindings' sources import them from their own folders.
  resolve: {
    dedupe: ['yjs', 'react', 'react-dom', 'y-protocols', 'prosemirror-model', 'prosemirror-state', 'prosemirror-view'],
  },
  build: {
    target: 'es2022',
    // React, ProseMirror, Yjs and the client in one file: about 570 kB, 180 kB gzipped.
    chunkSizeWarningLimit: 700,
    rollupOptions: {
      input: { index: 'index.html', [serviceWorkerEntry]: 'src/serviceWorker.ts' },
      output: {
        entryFileNames: (chunk) => (chunk.name === serviceWorkerEntry ? 'sw.js' : 'assets/[name]-[hash].js'),
      },
    },
  },
  plugins: [appShellManifest()],
})
