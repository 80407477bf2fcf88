/** The types of ./viteConfig.js: a web app's Vite config with its offline app shell. */
import type { UserConfig } from 'vite'

export interface AppShellConfigOptions {
  /** Names the build's plugin, for Vite's messages. */
  readonly appName: string
  /**
   * Packages the page must hold one copy of: the workspace packages' sources import them from
   * their own folders, which would otherwise bundle a second copy.
   */
  readonly dedupe: readonly string[]
  /** Vite's warning threshold for a chunk, in kB, where the app is knowingly one large file. */
  readonly chunkSizeWarningLimit?: number
}

export declare const appShellConfig: (options: AppShellConfigOptions) => UserConfig
