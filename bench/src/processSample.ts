/**
 * Owns reading another process's CPU time and memory from /proc (Linux), so
 * each server under test is measured from outside, the same way for all.
 */
import { readFileSync } from 'node:fs'

/** USER_HZ: the unit of utime and stime in /proc/PID/stat; 100 on every Linux Node supports. */
const clockTicksPerSecond = 100

export interface ProcessSample {
  /** User plus system CPU time so far. */
  readonly cpuMs: number
  readonly rssBytes: number
  /** The peak RSS so far (VmHWM). */
  readonly peakRssBytes: number
  /** When the sample was taken (performance.now()). */
  readonly atMs: number
}

const statusKiB = (status: string, field: string): number => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1])

export const sampleProcess = (pid: number): ProcessSample => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[11]) + Number(fields[12])
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return {
    cpuMs: (ticks * 1000) / clockTicksPerSecond,
    rssBytes: statusKiB(status, 'VmRSS') * 1024,
    peakRssBytes: statusKiB(status, 'VmHWM') * 1024,
    atMs: performance.now(),
  }
}

/** CPU used between two samples, in cores (1 = one core busy the whole time). */
export const coresUsed = (from: ProcessSample, to: ProcessSample): number =>
  (to.cpuMs - from.cpuMs) / Math.max(1, to.atMs - from.atMs)
