/**
 * Owns how a web app is built into dist/: index.html and its hashed files,
 * and the service worker (the app's src/serviceWorker.ts) at a fixed address
 * (/sw.js) with the list of every built file written into it, so it can store
 * the whole app shell on install (./serviceWorker.ts reads that list).
 *
 * Plain JavaScript (typed by ./viteConfig.d.ts), because Vite loads the
 * workspace's packages into a config as they are, without compiling them.
 */
import { createHash } from 'node:crypto'
import { defineConfig } from 'vite'

const serviceWorkerEntry = 'sw'

/** @type {(appName: string) => import('vite').Plugin} */
const appShellManifest = (appName) => ({
  name: `${appName}:app-shell-manifest`,
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

/** @type {typeof import('./viteConfig.js').appShellConfig} */
export const appShellConfig = ({ appName, dedupe, chunkSizeWarningLimit }) =>
  defineConfig({
    resolve: { dedupe: [...dedupe] },
    build: {
      target: 'es2022',
      ...(chunkSizeWarningLimit === undefined ? {} : { chunkSizeWarningLimit }),
      rollupOptions: {
        input: { index: 'index.html', [serviceWorkerEntry]: 'src/serviceWorker.ts' },
        output: {
          entryFileNames: (chunk) => (chunk.name === serviceWorkerEntry ? 'sw.js' : 'assets/[name]-[hash].js'),
        },
      },
    },
    plugins: [appShellManifest(appName)],
  })
