// Types for preflight.mjs (plain JavaScript so that it runs before anything is built).
export interface Missing {
  readonly name: string
  readonly aptPackage: string
  readonly why: string
}
export declare const needs: Record<'chromium' | 'redis' | 'postgresql', { readonly aptPackage: string }>
export declare const findMissing: (
  names?: readonly string[],
  options?: { readonly env?: NodeJS.ProcessEnv; readonly postgresRoot?: string },
) => Missing[]
export declare const installLine: (missing: readonly Missing[]) => string
