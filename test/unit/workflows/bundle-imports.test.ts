import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Specifiers of the imports that stay at run time (`import type` is erased). */
function runtimeImports(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?from\s+'([^']+)';/gms))
    out.push(m[1]!);
  return out;
}

/**
 * What the workflow bundle holds: every module it reaches from workflows/index.ts. The worker
 * runs the bundle's module initialisers again for each workflow it starts (each workflow gets
 * fresh module state), so a heavy library here costs every message wave CPU: zod alone cost
 * about 10 ms per workflow.
 */
function bundledModules(): { files: string[]; packages: Set<string> } {
  const files: string[] = [];
  const packages = new Set<string>();
  const pending = [join(ROOT, 'workflows/index.ts')];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (files.includes(file)) continue;
    files.push(file);
    for (const spec of runtimeImports(readFileSync(file, 'utf8'))) {
      if (spec.startsWith('.')) pending.push(join(dirname(file), spec.replace(/\.js$/, '.ts')));
      else packages.add(spec);
    }
  }
  return { files: files.map((f) => relative(ROOT, f)).sort(), packages };
}

test('the workflow bundle holds the Temporal workflow SDK and pure modules only', () => {
  const { files, packages } = bundledModules();
  // @temporalio/common is the workflow SDK's own dependency: bundled either way.
  assert.deepEqual([...packages].sort(), ['@temporalio/common', '@temporalio/workflow']);
  for (const f of files) assert.match(f, /^(workflows|core)\//, `${f} is not workflow code or pure core`);
  assert.ok(files.includes('core/routing/warmup.ts'), 'the walk follows imports into core/');
});
