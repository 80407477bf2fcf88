/**
 * Ends every Playwright run with one plain line, `e2e: N passed, N failed,
 * N skipped`, as vitest's runs end, which CI reads to tell a run that tested
 * something from one that did not.
 */
import type { FullResult, Reporter, TestCase, TestResult } from '@playwright/test/reporter'

export default class SummaryLineReporter implements Reporter {
  readonly #outcomes = new Map<TestCase, TestResult['status']>()

  onTestEnd(test: TestCase, result: TestResult): void {
    this.#outcomes.set(test, result.status)
  }

  onEnd(result: FullResult): void {
    const outcomes = [...this.#outcomes.values()]
    const passed = outcomes.filter((status) => status === 'passed').length
    const skipped = outcomes.filter((status) => status === 'skipped').length
    // A run that failed outside any test (setup, a time-out of the whole run) counts one failure.
    const failed = outcomes.length - passed - skipped || (result.status === 'passed' ? 0 : 1)
    process.stdout.write(`\ne2e: ${passed} passed, ${failed} failed, ${skipped} skipped\n`)
  }

  printsToStdio(): boolean {
    return false
  }
}
