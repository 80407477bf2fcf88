/**
 * Owns the web apps' offline app shell, as a service worker served at /sw.js.
 * Installing it stores every file of the build (listed into it at build time,
 * with a version, by `appShellConfig` in ./viteConfig.ts), so after one visit
 * the app loads with the relay down: pages come from the network when it
 * answers within a few seconds and from the stored shell otherwise; the
 * build's files, whose names change with their content, come from the store
 * first. The documents themselves are the client's business (IndexedDB), not
 * this worker's. An app's own src/serviceWorker.ts calls `serveAppShell` once.
 */

// The service worker globals this file uses; the DOM types the apps are checked with do not have them.
interface ExtendableEvent extends Event {
  waitUntil(promise: Promise<unknown>): void
}
interface FetchEvent extends ExtendableEvent {
  readonly request: Request
  respondWith(response: Promise<Response>): void
}
interface ServiceWorkerScope {
  readonly location: Location
  readonly clients: { claim(): Promise<void> }
  skipWaiting(): Promise<void>
  addEventListener(type: 'install' | 'activate', listener: (event: ExtendableEvent) => void): void
  addEventListener(type: 'fetch', listener: (event: FetchEvent) => void): void
}

/** Written into the built file by `appShellConfig`: the build's files and a version naming them. */
declare const __APP_SHELL__: { readonly version: string; readonly files: readonly string[] }

/** How long a page request waits for the network before the stored shell answers. */
const networkTimeoutMs = 3000

export interface AppShellOptions {
  /** Names this app's caches, so two apps on one origin never delete each other's shell. */
  readonly cachePrefix: string
}

export const serveAppShell = ({ cachePrefix }: AppShellOptions): void => {
  const scope = self as unknown as ServiceWorkerScope
  const appShell = __APP_SHELL__
  const cacheName = `${cachePrefix}${appShell.version}`
  const shellFiles = new Set(appShell.files)

  scope.addEventListener('install', (event) => {
    event.waitUntil(
      caches
        .open(cacheName)
        .then((cache) => cache.addAll([...shellFiles]))
        .then(() => scope.skipWaiting()),
    )
  })

  scope.addEventListener('activate', (event) => {
    event.waitUntil(
      caches
        .keys()
        .then((names) =>
          Promise.all(
            names
              .filter((name) => name.startsWith(cachePrefix) && name !== cacheName)
              .map((name) => caches.delete(name)),
          ),
        )
        .then(() => scope.clients.claim()),
    )
  })

  const fromNetworkOrShell = async (request: Request): Promise<Response> => {
    try {
      return await fetch(request, { signal: AbortSignal.timeout(networkTimeoutMs) })
    } catch {
      // No network, no relay, or too slow: the stored shell answers.
    }
    return (await caches.match('/', { cacheName })) ?? Response.error()
  }

  const fromShellOrNetwork = async (request: Request): Promise<Response> =>
    (await caches.match(request, { cacheName })) ?? fetch(request)

  scope.addEventListener('fetch', (event) => {
    const { request } = event
    const url = new URL(request.url)
    if (request.method !== 'GET' || url.origin !== scope.location.origin) return
    // The relay's HTTP API (the demo's Export link) answers from the relay, or not at all: never from the shell.
    if (url.pathname.startsWith('/v1/')) return
    if (request.mode === 'navigate') event.respondWith(fromNetworkOrShell(request))
    else if (shellFiles.has(url.pathname)) event.respondWith(fromShellOrNetwork(request))
  })
}
