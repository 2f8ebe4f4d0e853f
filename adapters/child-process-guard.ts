import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * Whether `pid` is a live process whose command line mentions `name`. The name check
 * guards against pid reuse: after a crash or a reboot, a pid file may name an unrelated
 * process. Where /proc is missing (macOS), a live pid is taken at its word.
 */
export function isLiveProcess(pid: number, name: string): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to another user (a server run as `postgres` by root is ours).
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(name);
  } catch {
    return true;
  }
}

/** The pid on the first line of a pid file, or null when the file is missing or unreadable. */
export function pidFromFile(file: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8').split('\n')[0] ?? '', 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/**
 * Stops a server left running by a node that was killed (SIGKILL leaves its children
 * behind): `signal` first, then SIGKILL after `graceMs`. Resolves once it is gone.
 */
export async function stopLeftover(
  pid: number,
  name: string,
  signal: NodeJS.Signals,
  graceMs: number,
): Promise<void> {
  if (!isLiveProcess(pid, name)) return;
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (isLiveProcess(pid, name)) {
    if (Date.now() > deadline) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        return;
      }
    }
    await delay(100);
  }
}

/** Stops a server we started: `signal` first, SIGKILL after `graceMs`; resolves once it exited. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<boolean>((r) => child.once('exit', () => r(true)));
  // The grace timer is cancelled once the child is gone, so it holds nobody's event loop.
  const timer = new AbortController();
  const graceOver = delay(graceMs, false, { signal: timer.signal }).catch(() => false);
  child.kill(signal);
  const exited = await Promise.race([gone, graceOver]);
  timer.abort();
  if (exited) return;
  child.kill('SIGKILL');
  await gone;
}
