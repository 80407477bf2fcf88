/**
 * The demo's service worker, served at /sw.js: the offline app shell that
 * @concord/app-shell owns, under the demo's own cache names.
 */
import { serveAppShell } from '@concord/app-shell/serviceWorker'

serveAppShell({ cachePrefix: 'concord-demo-shell-' })
