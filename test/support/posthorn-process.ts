import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const BIN = fileURLToPath(new URL('../../bin/posthorn.mjs', import.meta.url));
/** The node flags of the command's `#!/usr/bin/env -S node …` line: a node runs as `npm start` runs it. */
const BIN_NODE_FLAGS = readFileSync(BIN, 'utf8').split('\n', 1)[0]!.split(/\s+/).slice(3);
const run = promisify(execFile);

/** Ended by an exit or by a signal (a killed child has a signalCode and no exitCode). */
const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

/**
 * A `posthorn serve` (or, with command 'dev', `posthorn dev`: embedded PostgreSQL and
 * Temporal dev server) child process, started and killed the way an operator would.
 */
export class PosthornProcess {
  private child: ChildProcess | null = null;
  private output = '';

  constructor(
    readonly env: NodeJS.ProcessEnv,
    readonly apiUrl: string,
    private readonly nodeArgs: readonly string[] = [],
    private readonly command: 'serve' | 'dev' = 'serve',
  ) {}

  async start(): Promise<void> {
    this.output = '';
    const child = spawn(process.execPath, [...BIN_NODE_FLAGS, ...this.nodeArgs, BIN, this.command], {
      env: this.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const keep = (b: Buffer) => {
      // Keep the tail only: enough to explain a failed start (bytes).
      this.output = (this.output + b.toString()).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    // Worker start bundles the workflows (a few seconds on 2 cores); `dev` also starts
    // PostgreSQL and the Temporal dev server (initdb on first use); ms.
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (exited(child))
        throw new Error(
          `posthorn ${this.command} exited with ${child.exitCode ?? child.signalCode}:\n${this.output}`,
        );
      const ok = await fetch(`${this.apiUrl}/health`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) return;
      if (Date.now() > deadline)
        throw new Error(`posthorn ${this.command} not healthy within 120 s:\n${this.output}`);
      await delay(250);
    }
  }

  /** SIGKILL: no chance to finish anything, as in a crash. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || exited(child)) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await gone;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || exited(child)) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([gone, delay(15_000)]);
    if (!exited(child)) await this.kill();
  }

  /** Another node of the same deployment: same database and Temporal, other settings. */
  sibling(overrides: NodeJS.ProcessEnv, apiUrl: string): PosthornProcess {
    return new PosthornProcess({ ...this.env, ...overrides }, apiUrl, this.nodeArgs, this.command);
  }

  /** The process id of the running node, for /proc measurements. */
  pid(): number | undefined {
    return this.child?.pid;
  }

  logs(): string {
    return this.output;
  }

  /** Runs another CLI command with the same environment; returns stdout. */
  async cli(args: string[]): Promise<string> {
    const { stdout } = await run(process.execPath, [BIN, ...args], { env: this.env });
    return stdout;
  }
}
