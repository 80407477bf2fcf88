/**
 * Owns how the relay starts a worker thread from one of its own modules: the
 * module next to this one, compiled to .js in dist. When vitest runs the
 * TypeScript sources, the modules are .ts files, which Node 20 cannot load in
 * a worker (nor do loaders given as the worker's execArgv apply to it): a
 * two-line bootstrap then imports the worker through tsx, a dev dependency.
 * Built code never takes that branch.
 */
import { Worker, type ResourceLimits } from 'node:worker_threads'

/** Starts `module` (its name without the extension, next to this file) on a thread of its own. */
export const startModuleWorker = (module: string, workerData?: unknown, resourceLimits?: ResourceLimits): Worker => {
  const options = { workerData, ...(resourceLimits && { resourceLimits }) }
  // Not `new Worker(new URL(`...`))` inline: Vite (which runs the React tests, which load the relay) takes
  // that for a worker to bundle, and fails on a name that is not a literal.
  const built = new URL(`./${module}.js`, import.meta.url)
  if (!import.meta.url.endsWith('.ts')) return new Worker(built, options)
  const worker = new URL(`./${module}.ts`, import.meta.url).href
  const bootstrap = `import { tsImport } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))}
    await tsImport(${JSON.stringify(worker)}, ${JSON.stringify(import.meta.url)})`
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`), options)
}
