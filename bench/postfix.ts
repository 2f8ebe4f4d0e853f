import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { reapedChildrenCpuMs, treeCpuMs } from './proc.js';

/**
 * Postfix as the reference MTA, on the same machine in the same run: its `smtp-sink` as
 * the receiving MX for both Posthorn and Postfix, and a private Postfix instance relaying
 * what `smtp-source` injects (Debian package `postfix`; "No configuration" is enough).
 */
const run = promisify(execFile);
const SBIN = '/usr/sbin';

export function postfixInstalled(): boolean {
  return ['postfix', 'smtp-sink', 'smtp-source', 'postqueue'].every((b) => existsSync(join(SBIN, b)));
}

export interface Sinks {
  readonly port: number;
  readonly pids: number[];
  stop(): Promise<void>;
}

/** One smtp-sink per host, all on `port`; they accept every message and keep nothing. */
export async function startSmtpSinks(hosts: readonly string[], port: number): Promise<Sinks> {
  const children: ChildProcess[] = hosts.map((host) =>
    // -u postfix: smtp-sink drops root privileges after binding; 1024: listen backlog.
    spawn(join(SBIN, 'smtp-sink'), ['-u', 'postfix', `${host}:${port}`, '1024'], { stdio: 'ignore' }),
  );
  await delay(300);
  for (const c of children) if (c.exitCode !== null) throw new Error(`smtp-sink exited with ${c.exitCode}`);
  return {
    port,
    pids: children.map((c) => c.pid!),
    async stop() {
      for (const c of children) c.kill('SIGTERM');
    },
  };
}

export interface PostfixRun {
  readonly messages: number;
  readonly seconds: number;
  /** CPU of the whole Postfix instance (master and every daemon it forked), ms. */
  readonly postfixCpuMs: number;
  readonly sinkCpuMs: number;
  readonly sourceCpuMs: number;
}

/**
 * Relays `messages` × `bytes` through a private Postfix instance (its own queue under a
 * temporary directory, fsync'd as Postfix always does) to the sinks: `domains[i]` is
 * routed to `[hosts[i]]:port` by a transport map, and smtp-source injects with `sessions`
 * sessions spread over the domains. Timed from the first injection to an empty queue.
 */
export async function runPostfix(o: {
  messages: number;
  bytes: number;
  sessions: number;
  domains: readonly string[];
  hosts: readonly string[];
  sinks: Sinks;
  smtpdPort: number;
  /** Relayed first and not measured. */
  warmup: number;
}): Promise<PostfixRun> {
  const dir = await mkdtemp(join(tmpdir(), 'posthorn-bench-postfix-'));
  // Postfix's daemons run as the user postfix and must reach the queue under it.
  await chmod(dir, 0o755);
  const etc = join(dir, 'etc');
  await mkdir(etc);
  await mkdir(join(dir, 'data'));
  // The queue's subdirectories are made by `postfix start` (post-install create-missing).
  await mkdir(join(dir, 'spool'));
  await chown(join(dir, 'data'), Number((await run('id', ['-u', 'postfix'])).stdout), 0);
  const transport = o.domains.map((d, i) => `${d}=smtp:[${o.hosts[i]}]:${o.sinks.port}`).join(', ');
  await writeFile(
    join(etc, 'main.cf'),
    [
      'compatibility_level = 3.6',
      `queue_directory = ${join(dir, 'spool')}`,
      `data_directory = ${join(dir, 'data')}`,
      'mail_owner = postfix',
      'myhostname = postfix.bench.test',
      'mydestination =',
      'inet_interfaces = 127.0.0.1',
      'inet_protocols = ipv4',
      'mynetworks = 127.0.0.0/8',
      'smtpd_relay_restrictions = permit_mynetworks, reject',
      `transport_maps = inline:{ ${transport} }`,
      `maillog_file = ${join(dir, 'maillog')}`,
      `maillog_file_prefixes = ${dir}`,
    ].join('\n'),
  );
  // Debian's master.cf with the SMTP listener on our port and no chroot (the private
  // queue has no chroot jail set up).
  const master = (await readFile('/etc/postfix/master.cf', 'utf8'))
    .split('\n')
    .map((line) => {
      if (line.startsWith('#') || /^\s/.test(line) || !line.trim()) return line;
      const cols = line.split(/\s+/);
      if (cols[0] === 'smtp' && cols[1] === 'inet') cols[0] = `127.0.0.1:${o.smtpdPort}`;
      if (cols[4] === 'y') cols[4] = 'n';
      return cols.join(' ');
    })
    .join('\n');
  await writeFile(join(etc, 'master.cf'), master);
  const postfix = (args: string[]) => run(join(SBIN, 'postfix'), ['-c', etc, ...args]);
  await postfix(['start']);
  try {
    const masterPid = Number(readFileSync(join(dir, 'spool', 'pid', 'master.pid'), 'utf8').trim());
    const sessions = Math.max(1, Math.round(o.sessions / o.domains.length));
    // smtp-source per domain, `messages` in all; resolves once Postfix's queue is empty.
    const relay = async (messages: number) => {
      const perDomain = Math.ceil(messages / o.domains.length);
      const sources = o.domains.map((d, i) =>
        spawn(
          join(SBIN, 'smtp-source'),
          [
            '-s',
            String(sessions),
            '-l',
            String(o.bytes),
            '-m',
            String(perDomain),
            '-f',
            'bench@bench.test',
            '-t',
            `r${i}@${d}`,
            `127.0.0.1:${o.smtpdPort}`,
          ],
          { stdio: 'ignore' },
        ),
      );
      await Promise.all(
        sources.map(
          (s) =>
            new Promise<void>((resolve, reject) =>
              s.once('exit', (code) =>
                code === 0 ? resolve() : reject(new Error(`smtp-source exited with ${code}`)),
              ),
            ),
        ),
      );
      for (;;) {
        const { stdout } = await run(join(SBIN, 'postqueue'), ['-c', etc, '-j']);
        if (stdout.trim() === '') break;
        await delay(50);
      }
    };
    const sentSoFar = async () =>
      (await readFile(join(dir, 'maillog'), 'utf8').catch(() => '')).split('status=sent').length - 1;
    // Warmed like the node: the measured messages find Postfix's processes and connections up.
    if (o.warmup > 0) await relay(o.warmup);
    const sentBefore = await sentSoFar();
    const cpu0 = {
      postfix: treeCpuMs(masterPid),
      sinks: sinksCpu(o.sinks),
      sources: reapedChildrenCpuMs(process.pid),
    };
    const t0 = performance.now();
    await relay(o.messages);
    // The sources were this process's children: their CPU is in its reaped children's time.
    const sourceCpuMs = reapedChildrenCpuMs(process.pid) - cpu0.sources;
    const seconds = (performance.now() - t0) / 1000;
    return {
      messages: (await sentSoFar()) - sentBefore,
      seconds,
      postfixCpuMs: treeCpuMs(masterPid) - cpu0.postfix,
      sinkCpuMs: sinksCpu(o.sinks) - cpu0.sinks,
      sourceCpuMs,
    };
  } finally {
    await postfix(['stop']).catch(() => {});
    await delay(500);
    if (!process.env.BENCH_KEEP) await rm(dir, { recursive: true, force: true });
  }
}

export function sinksCpu(sinks: Sinks): number {
  return sinks.pids.reduce((ms, pid) => ms + treeCpuMs(pid), 0);
}
