/**
 * Owns the running service: the data folder, the SQLite store, the relay, its webhook delivery,
 * and the HTTP server they share (liveness, readiness, metrics, the demo's
 * built files). Stopping it closes them in the order that loses nothing.
 */
import { createReadStream, existsSync } from 'node:fs'
import { stat } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { extname, join, resolve, sep } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { fileURLToPath } from 'node:url'
import { createRelay, outboxOf, type DocStore, type Fanout, type Logger, type Relay } from '@concord/relay'
import { SqliteDocStore } from '@concord/relay/sqlite'
import { listenAddress, type ListenAddress } from './addressFile.js'
import type { Config } from './config.js'
import { maskUrlCredentials } from './configSummary.js'
import { prepareDataFolder } from './dataFolder.js'
import { createJwtAuthenticate } from './jwtAuth.js'
import { historyOptionsOf } from './historySettings.js'
import { createRelayMetrics, type RelayMetrics } from './metrics.js'
import { readiness, withoutDetails, type ReadinessCheck } from './readiness.js'
import { WebhookDelivery, type WebhookDeliveryOptions } from './webhookDelivery.js'
import { createWebhookMetrics } from './webhookMetrics.js'

export interface Service {
  /** ws://host:port, with the port actually bound. */
  readonly url: string
  /** Where it listens, as a health check beside it asks. */
  readonly address: ListenAddress
  /** Where documents are stored: the SQLite file, or the PostgreSQL URL with its password masked. */
  readonly storePath: string
  /** Cluster mode: the Redis URL (password masked) and this relay's id; undefined for a relay on its own. */
  readonly cluster: { readonly redis: string; readonly relayId: string } | undefined
  /** Resolves when the store (and, in cluster mode, Redis) answers; rejects otherwise. For readiness checks. */
  ping(): Promise<void>
  /** Where a browser opens the demo (http://host:port/), when its built files are there. */
  readonly demoUrl: string | undefined
  /** Stops accepting, closes every connection with 1001, stores every accepted update, closes the store. */
  stop(): Promise<void>
}

export interface ServiceOptions {
  /** The folder whose files are served over HTTP. Default: the demo's build, apps/demo/dist. */
  readonly staticDir?: string
  /** Checks that /readyz asks besides the store's. */
  readonly readinessChecks?: readonly ReadinessCheck[]
  /** The webhook delivery's timings, for tests. Default: webhookDefaults. */
  readonly webhookTimings?: Omit<WebhookDeliveryOptions, 'outbox' | 'urls' | 'secret' | 'logger' | 'observer'>
}

/** What the HTTP routes other than the static files answer from. */
interface Endpoints {
  readonly relay: Relay
  readonly checks: readonly ReadinessCheck[]
  readonly metrics: RelayMetrics
  readonly shuttingDown: () => boolean
  /** Show each failing check's error in /readyz (`--readyz-details`); it is logged either way. */
  readonly readyzDetails: boolean
}

/** apps/demo/dist, from apps/relay/dist (built) or apps/relay/src (tests). */
const demoDist = fileURLToPath(new URL('../../demo/dist', import.meta.url))

const contentTypes: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
}

/**
 * The file under `root` that a request path names (`/` is index.html), or
 * undefined for a path that does not decode, or that has a `..` (or any dot
 * segment, encoded or not), a backslash or a NUL, or that would resolve
 * outside `root` anyway.
 */
const staticFilePath = (root: string, url: string): string | undefined => {
  let path: string
  try {
    path = decodeURIComponent(url.replace(/[?#].*$/s, ''))
  } catch {
    return undefined
  }
  if (path === '/') path = '/index.html'
  if (!path.startsWith('/') || /[\\\0]/.test(path) || path.split('/').some((segment) => segment.startsWith('.'))) {
    return undefined
  }
  const file = resolve(root, `.${path}`)
  return file.startsWith(root + sep) ? file : undefined
}

/**
 * The Content-Security-Policy of every served file (it governs the pages, and the service worker's
 * own fetches): scripts, images, fonts, connections and workers from this origin only, which is also
 * the relay's (\`'self'\` covers ws: and wss: to it), no inline script, nothing framed, no plugins.
 * Inline styles stay allowed: CodeMirror writes its styles into the page and its cursors into
 * \`style\` attributes. So a style that got in anyway (a colour from someone's presence) can
 * neither run code nor load anything from elsewhere (\`url(http://...)\`).
 */
export const contentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "worker-src 'self'",
  "manifest-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')

/** Serves the file a GET or HEAD names, if there is one; resolves false when there is not. */
const serveStaticFile = async (root: string, request: IncomingMessage, response: ServerResponse): Promise<boolean> => {
  const file = staticFilePath(root, request.url ?? '/')
  if (!file) return false
  const stats = await stat(file).catch(() => undefined)
  if (!stats?.isFile()) return false
  response.writeHead(200, {
    'content-type': contentTypes[extname(file)] ?? 'application/octet-stream',
    'content-length': stats.size,
    // Vite names the files in assets/ by their content; everything else (index.html, sw.js) is checked each time.
    'cache-control': file.startsWith(join(root, 'assets') + sep) ? 'public, max-age=31536000, immutable' : 'no-cache',
    'x-content-type-options': 'nosniff',
    'content-security-policy': contentSecurityPolicy,
    'referrer-policy': 'no-referrer',
  })
  if (request.method === 'HEAD') response.end()
  // On an error (the file vanished, the client left) pipeline has already closed both ends.
  else pipeline(createReadStream(file), response).catch(() => {})
  return true
}

/** GET /readyz, /metrics: answers, or a 500 logged when something throws. */
const serveAsync = (
  answer: Promise<{ status: number; contentType: string; body: string }>,
  response: ServerResponse,
  logger: Logger,
  what: string,
): void => {
  answer.then(
    ({ status, contentType, body }) =>
      response.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' }).end(body),
    (error: unknown) => {
      logger.error({ err: error }, `could not answer ${what}`)
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' })
      response.end()
    },
  )
}

const httpHandler = (staticDir: string, logger: Logger, endpoints: Endpoints) => {
  // A load balancer asks /readyz every few seconds: log when the answer changes, not each time.
  let lastReadiness = 'ready: '
  return (request: IncomingMessage, response: ServerResponse): void => {
    if (endpoints.relay.handleHttp(request, response)) return
    const path = (request.url ?? '/').split('?', 1)[0]
    if (request.method === 'GET' && path === '/healthz') {
      // Liveness: the process answers. Whether it can serve is /readyz.
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n')
      return
    }
    if (request.method === 'GET' && path === '/readyz') {
      const answer = readiness(endpoints.checks, endpoints.shuttingDown()).then(({ status, body }) => {
        const summary = `${body.status}: ${body.failing.join(',')}`
        if (summary !== lastReadiness) {
          lastReadiness = summary
          // The log gets each failing check's error; the answer below does only with --readyz-details.
          if (status === 200) logger.info({ readiness: body }, 'ready again')
          else logger.warn({ readiness: body }, body.status)
        }
        const shown = endpoints.readyzDetails ? body : withoutDetails(body)
        return { status, contentType: 'application/json', body: JSON.stringify(shown) + '\n' }
      })
      serveAsync(answer, response, logger, '/readyz')
      return
    }
    if (request.method === 'GET' && path === '/metrics') {
      const answer = endpoints.metrics.scrape().then(({ contentType, body }) => ({ status: 200, contentType, body }))
      serveAsync(answer, response, logger, '/metrics')
      return
    }
    const isRead = request.method === 'GET' || request.method === 'HEAD'
    ;(isRead ? serveStaticFile(staticDir, request, response) : Promise.resolve(false)).then(
      (served) => {
        if (!served) response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
      },
      (error: unknown) => {
        // The path only: a query string may carry a token.
        logger.error({ err: error, path }, 'could not serve a file')
        if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' })
        response.end()
      },
    )
  }
}

const openStore = async (config: Config, logger: Logger): Promise<{ store: DocStore; storePath: string }> => {
  if (config.storeUrl !== undefined) {
    // Loaded only for a relay that uses them: a relay on SQLite never loads pg or ioredis, whose
    // code and sources took about 2 MiB of its heap.
    const { PostgresDocStore } = await import('@concord/relay/postgres')
    const store = await PostgresDocStore.open(config.storeUrl, {
      onError: (error) => logger.warn({ err: error }, 'postgres connection error'),
    })
    return { store, storePath: maskUrlCredentials(config.storeUrl) }
  }
  prepareDataFolder(config.dataDir)
  const storePath = join(config.dataDir, 'concord.sqlite')
  const store = new SqliteDocStore(storePath)
  // The store's worker thread takes a moment to start (seconds on a busy machine). The service
  // listens once the store has answered, as it does once PostgreSQL has: a relay whose /readyz
  // says its store is failing is one whose store failed, not one still starting.
  try {
    await store.ping()
  } catch (error) {
    await store.close().catch(() => {})
    throw error
  }
  return { store, storePath }
}

export const startService = async (config: Config, logger: Logger, options: ServiceOptions = {}): Promise<Service> => {
  // First, so that a key that does not import stops the start before anything is opened.
  const authenticate = config.jwt && (await createJwtAuthenticate(config.jwt))
  const { store, storePath } = await openStore(config, logger)
  // A relay started while Redis is down comes up all the same and keeps trying (ioredis, with
  // backoff): /readyz fails naming redis, and the log says so, until Redis answers. Clients on
  // this relay meanwhile see each other's edits; the other relays' come once Redis is there.
  const fanout: Fanout | undefined =
    config.redisUrl === undefined
      ? undefined
      : (await import('@concord/relay/redis')).RedisFanout.start(config.redisUrl, {
          logger,
          heartbeatIntervalMs: config.clusterHeartbeatMs,
          heartbeatTtlMs: 3 * config.clusterHeartbeatMs,
        })
  if (fanout) logger.info({ redis: maskUrlCredentials(config.redisUrl!) }, 'connecting to redis')
  const checks: ReadinessCheck[] = [{ name: 'store', check: () => store.ping() }]
  if (fanout) {
    const redis = fanout
    checks.push({ name: 'redis', check: () => redis.ping() })
  }
  checks.push(...(options.readinessChecks ?? []))
  // Scrapes come over the server below, so never before `relay` is set.
  const metrics = createRelayMetrics({ stats: () => relay.stats(), checks })
  const relay = createRelay({
    store,
    ...(fanout && { fanout }),
    logger,
    observer: metrics.observer,
    maxPayload: config.maxPayload,
    queryTokens: config.queryTokens,
    echoCommitted: config.echoCommitted,
    rateLimit: { messagesPerSecond: config.limits.messagesPerSecond, bytesPerSecond: config.limits.bytesPerSecond },
    maxConnectionsPerIp: config.limits.maxConnectionsPerIp,
    headersTimeoutMs: config.limits.headersTimeoutMs,
    ...(config.limits.maxSockets !== undefined && { maxSockets: config.limits.maxSockets }),
    maxDocumentsPerConnection: config.limits.maxDocumentsPerConnection,
    maxBufferedBytes: config.limits.maxBufferedBytes,
    ...(config.limits.allowedOrigins && { allowedOrigins: config.limits.allowedOrigins }),
    trustedProxies: config.limits.trustedProxies,
    history: historyOptionsOf(config.history),
    ...(authenticate && { authenticate }),
    ...(config.apiKey !== undefined && { apiKey: config.apiKey }),
    ...(config.webhooks && { webhookEvents: { debounceMs: config.webhooks.debounceMs } }),
  })
  const outbox = outboxOf(store)
  const webhooks =
    config.webhooks &&
    outbox &&
    new WebhookDelivery({
      ...options.webhookTimings,
      outbox,
      urls: config.webhooks.urls,
      secret: config.webhooks.secret,
      logger,
      observer: createWebhookMetrics(metrics.registry, () => outbox.outboxStats()),
    })
  webhooks?.start()
  const staticDir = resolve(options.staticDir ?? demoDist)
  let shuttingDown = false
  const server = createServer(
    httpHandler(staticDir, logger, {
      relay,
      checks,
      metrics,
      shuttingDown: () => shuttingDown,
      readyzDetails: config.readyzDetails,
    }),
  )
  relay.attach(server)
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(config.port, config.host, () => resolve())
    })
  } catch (error) {
    await webhooks?.stop()
    await fanout?.close()
    await store.close()
    throw error
  }
  const { address, port } = server.address() as AddressInfo
  const host = address.includes(':') ? `[${address}]` : address
  return {
    url: `ws://${host}:${port}`,
    address: listenAddress(address, port),
    storePath,
    cluster: fanout && { redis: maskUrlCredentials(config.redisUrl!), relayId: fanout.relayId },
    ping: async () => {
      await Promise.all([store.ping(), fanout?.ping()])
    },
    demoUrl: existsSync(join(staticDir, 'index.html')) ? `http://${host}:${port}/` : undefined,
    stop: async () => {
      shuttingDown = true
      // HTTP stays up while the relay closes its connections, so a load balancer asking /readyz
      // gets a 503 (and new upgrades get one from the relay) rather than a refused connection.
      await relay.close()
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeAllConnections()
      await serverClosed
      await webhooks?.stop()
      await fanout?.close()
      await store.close()
    },
  }
}
