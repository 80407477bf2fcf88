/**
 * Ends every vitest run with one plain line, `N passed, N failed, N skipped`,
 * which CI reads to tell a run that tested something from one that did not.
 * A test file that failed to load, and an unhandled error, count as failed.
 */
import type { Reporter, SerializedError, TestModule } from 'vitest/node'

export class SummaryLineReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>): void {
    let passed = 0
    let failed = unhandledErrors.length
    let skipped = 0
    for (const testModule of testModules) {
      const tests = [...testModule.children.allTests()]
      if (tests.length === 0 && testModule.state() === 'failed') failed++
      for (const test of tests) {
        const { state } = test.result()
        if (state === 'passed') passed++
        else if (state === 'failed') failed++
        else skipped++
      }
    }
    process.stdout.write(`\nvitest: ${passed} passed, ${failed} failed, ${skipped} skipped\n`)
  }
}
