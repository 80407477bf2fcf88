/**
 * Builds the notes app into dist/ with its offline app shell (see
 * @concord/app-shell's viteConfig.ts). JSX is compiled by Vite's own
 * transform (the automatic runtime), so no React plugin is needed.
 */
import { appShellConfig } from '@concord/app-shell/viteConfig'

export default appShellConfig({
  appName: 'concord-notes-react',
  // One copy of each in the page: the client's and the bindings' sources import them from their own folders.
  dedupe: ['yjs', 'react', 'react-dom', 'y-protocols', 'prosemirror-model', 'prosemirror-state', 'prosemirror-view'],
  // React, ProseMirror, Yjs and the client in one file: about 570 kB, 180 kB gzipped.
  chunkSizeWarningLimit: 700,
})
