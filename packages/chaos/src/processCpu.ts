/**
 * Owns reading how much CPU time a process has used, from Linux's
 * /proc/<pid>/stat (user plus system time). The harness charges a hostile
 * action by the work it made a relay do rather than by how long the relay
 * took to answer meanwhile: CPU time is the same on an idle machine and on
 * one at load average 20, wall-clock time is not.
 */
import { readFileSync } from 'node:fs'

/** Clock ticks per second in /proc's times: USER_HZ, 100 on every Linux the harness runs on. */
const ticksPerSecond = 100

/** utime + stime from one /proc/<pid>/stat line, in ms; undefined when the line does not parse. */
export const cpuMsOfStat = (stat: string): number | undefined => {
  // The command name (field 2) is in parentheses and may hold spaces or ')': fields count from its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // Fields 14 and 15 of the line are utime and stime; fields[0] here is field 3 (the state).
  const utime = Number(fields[11])
  const stime = Number(fields[12])
  if (!Number.isFinite(utime) || !Number.isFinite(stime) || fields.length < 13) return undefined
  return ((utime + stime) * 1000) / ticksPerSecond
}

/** The CPU time process `pid` has used so far, in ms; undefined where there is no /proc or no such process. */
export const processCpuMs = (pid: number): number | undefined => {
  try {
    return cpuMsOfStat(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return undefined
  }
}
