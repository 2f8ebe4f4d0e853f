import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const root = new URL('../../', import.meta.url);
const json = (name: string) => JSON.parse(readFileSync(new URL(name, root), 'utf8'));

/**
 * Asserts that `pkg` is pinned to one exact version in package.json, that package-lock.json
 * agrees, and that the installed copy is that version. `why` says what of ours depends on
 * the package's internals, for the failure message.
 */
export function assertPinnedExactly(pkg: string, installed: string, why: string): void {
  const manifest = json('package.json') as { dependencies: Record<string, string> };
  const lock = json('package-lock.json') as {
    packages: Record<string, { version?: string; dependencies?: Record<string, string> }>;
  };
  const pinned = manifest.dependencies[pkg];
  assert.match(
    pinned ?? '',
    /^\d+\.\d+\.\d+$/,
    `package.json must pin ${pkg} to an exact version, not "${pinned}": ${why}`,
  );
  assert.equal(
    installed,
    pinned,
    `installed ${pkg} ${installed} is not the pinned ${pinned}: node_modules drifted from package.json (run npm ci)`,
  );
  const declared = lock.packages['']?.dependencies?.[pkg];
  assert.equal(
    declared,
    pinned,
    `package-lock.json declares ${pkg} "${declared}", package.json pins ${pinned}`,
  );
  const locked = lock.packages[`node_modules/${pkg}`]?.version;
  assert.equal(locked, pinned, `package-lock.json locks ${pkg} ${locked}, package.json pins ${pinned}`);
}
