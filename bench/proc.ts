import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's CPU times (USER_HZ; 100 on Linux almost always). */
const TICKS_PER_S = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

interface Stat {
  ppid: number;
  /** utime + stime of the process, ticks. */
  own: number;
  /** cutime + cstime: CPU of its children that exited and were waited for, ticks. */
  reaped: number;
}

/** /proc/<pid>/stat fields after the command name (which may hold spaces and parentheses). */
function stat(pid: number): Stat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // proc(5): field 4 ppid, 14 utime, 15 stime, 16 cutime, 17 cstime (1-based, field 3 = f[0]).
    return { ppid: Number(f[1]), own: Number(f[11]) + Number(f[12]), reaped: Number(f[13]) + Number(f[14]) };
  } catch {
    return null;
  }
}

/**
 * CPU used so far by a process and all its descendants, ms: the live ones' own time plus
 * the root's reaped children (servers such as PostgreSQL and Postfix fork workers that
 * come and go). Take it before and after a run and subtract.
 */
export function treeCpuMs(root: number | undefined): number {
  if (!root) return Number.NaN;
  const stats = new Map<number, Stat>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const s = stat(pid);
    if (s) stats.set(pid, s);
  }
  const rootStat = stats.get(root);
  if (!rootStat) return Number.NaN;
  let ticks = rootStat.own + rootStat.reaped;
  const children = new Map<number, number[]>();
  for (const [pid, s] of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), pid]);
  const stack = [...(children.get(root) ?? [])];
  for (let pid = stack.pop(); pid !== undefined; pid = stack.pop()) {
    ticks += stats.get(pid)!.own;
    stack.push(...(children.get(pid) ?? []));
  }
  return (ticks * 1000) / TICKS_PER_S;
}

/** Peak resident set (VmHWM) of one process, MB. */
export function peakRssMb(pid: number | undefined): number {
  if (!pid) return Number.NaN;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** The first pid whose command line contains every one of `parts`, or undefined. */
export function findPid(...parts: string[]): number | undefined {
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (parts.every((p) => cmd.includes(p))) return pid;
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/** CPU ms of several named process trees, as a snapshot to subtract from a later one. */
export function cpuSnapshot(pids: Record<string, number | undefined>): Record<string, number> {
  return Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, treeCpuMs(pid)]));
}

/** CPU of a process's exited and waited-for children (cutime + cstime), ms. */
export function reapedChildrenCpuMs(pid: number): number {
  const s = stat(pid);
  return s ? (s.reaped * 1000) / TICKS_PER_S : Number.NaN;
}

/** CPU of one process alone, ms (not its children). */
export function ownCpuMs(pid: number | undefined): number {
  const s = pid ? stat(pid) : null;
  return s ? (s.own * 1000) / TICKS_PER_S : Number.NaN;
}
