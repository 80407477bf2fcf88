/**
 * Builds the demo into dist/ with its offline app shell (see
 * @concord/app-shell's viteConfig.ts).
 */
import { appShellConfig } from '@concord/app-shell/viteConfig'

export default appShellConfig({
  appName: 'concord-demo',
  // The client's sources import yjs from their own folder: one copy of Yjs in the page, never two.
  dedupe: ['yjs'],
})
