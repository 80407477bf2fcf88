import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { authFloodCpuMsPerFrameBound, authFloodProblems, authFloodWedgedMs } from './authFloodCheck.js'
import { cpuMsOfStat, processCpuMs } from './processCpu.js'
import { finalChecks, noFaults, type FinalCheckInput } from './runChecks.js'
import { WriteLedger } from './writeLedger.js'

describe('the auth-frame flood check', () => {
  it('fails at the CPU per frame of a relay that re-authorizes every open document per frame', () => {
    // 8.8 ms per frame, the least measured with the bug: 143 open documents, each auth frame
    // re-running authenticate for all of them (15.7-18.5 ms in chaos runs with 167-193).
    const problems = authFloodProblems({ authFloodCpuMsPerFrame: 8.8, authFloodStallMs: 400 })
    expect(problems).toHaveLength(1)
    expect(problems[0]).toContain('8.80 ms of CPU per auth frame')
  })

  it('passes a fixed relay even when a loaded machine made /healthz slow', () => {
    // 1.08 ms per frame, the fixed relay's worst measured in a chaos run; 4 s for /healthz, as at load average 20.
    expect(authFloodProblems({ authFloodCpuMsPerFrame: 1.08, authFloodStallMs: 4_000 })).toEqual([])
    expect(authFloodProblems({ authFloodCpuMsPerFrame: authFloodCpuMsPerFrameBound, authFloodStallMs: 0 })).toEqual([])
  })

  it('fails a relay that never answered /healthz during the flood', () => {
    const problems = authFloodProblems({ authFloodCpuMsPerFrame: 0, authFloodStallMs: authFloodWedgedMs })
    expect(problems).toEqual([expect.stringContaining('wedged the relay')])
  })

  it("is part of a run's verdict", () => {
    const midRun = {
      relayStoreChecks: 0,
      lostAtRelayStop: new Set<string>(),
      unreadableAtRelayStop: new Set<string>(),
      syncedButMissingAtStop: new Set<string>(),
      reloadChecks: 0,
      lostAtReload: new Set<string>(),
      authFloodStallMs: 300,
      authFloodCpuMsPerFrame: 12.9,
      authFloods: 1,
      queuedRetainedBytes: 0,
      termHangs: 0,
    }
    const input: FinalCheckInput = {
      seed: 1,
      documents: [],
      reports: [],
      stored: new Map(),
      ledger: new WriteLedger(0, Date.now()),
      midRun,
      faults: { ...noFaults(), hostile: 1 },
      convergeMs: 0,
      settleTimeoutMs: 1_000,
      memory: [],
      unresponsive: [],
      reader: undefined,
      relayViews: [],
      log: [],
    }
    expect(finalChecks(input).problems).toEqual([expect.stringContaining('ms of CPU per auth frame')])
    expect(finalChecks({ ...input, midRun: { ...midRun, authFloodCpuMsPerFrame: 0.2 } }).problems).toEqual([])
  })
})

describe('a process CPU time from /proc', () => {
  it('adds utime and stime, in ms, whatever the command name holds', () => {
    const stat = '4242 (node) x (y)) S 1 4242 4242 0 -1 4194304 10 0 0 0 250 37 0 0 20 0 11 0 100 1000 50'
    expect(cpuMsOfStat(stat)).toBe(2_870)
  })

  it('reads this process, and grows as much as it worked', () => {
    const before = processCpuMs(process.pid)
    // Work until Node's own count says 100 ms of CPU went by, however busy the machine is.
    const start = process.cpuUsage()
    const usedMs = () => {
      const { user, system } = process.cpuUsage(start)
      return (user + system) / 1000
    }
    while (usedMs() < 100) readFileSync('/proc/self/stat', 'utf8')
    const after = processCpuMs(process.pid)
    expect(before).toBeGreaterThanOrEqual(0)
    // /proc counts in 10 ms ticks, so up to a tick may be missing at either end.
    expect(after! - before!).toBeGreaterThanOrEqual(80)
  })
})
