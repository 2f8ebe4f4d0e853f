#!/usr/bin/env node
// Runs the suite with node's test runner: unit tests (pure, fast) and integration tests
// (real Temporal dev server, PostgreSQL, DNS and SMTP peers on loopback). Node 20's
// runner does not expand globs, so the files are listed here.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function testFiles(dir) {
  let out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out = out.concat(testFiles(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const which = process.argv[2] ?? 'all';
const dirs = which === 'all' ? ['test/unit', 'test/integration'] : [`test/${which}`];
const files = dirs.flatMap(testFiles);
// Integration files each start their own Temporal server and `posthorn serve`; two at a
// time fits a 2-core machine.
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], {
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
