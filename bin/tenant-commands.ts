import { parseArgs } from 'node:util';
import type { Db } from '../adapters/postgres/db.js';

export const TENANTS_USAGE = 'usage: posthorn tenants set NAME --require-tls true|false | tenants show NAME';

export type TenantsCommand =
  | { readonly action: 'set'; readonly name: string; readonly requireTls: boolean }
  | { readonly action: 'show'; readonly name: string };

/**
 * `posthorn tenants set NAME --require-tls true|false`: the tenant's delivery TLS policy.
 * With require-TLS every delivery needs STARTTLS (any certificate; MTA-STS enforce still
 * checks it), and a receiver without it defers as tls_failure instead of getting plaintext.
 * `posthorn tenants show NAME` prints the settings. Returns a usage message when the
 * arguments are wrong, so nothing is opened for a typo.
 */
export function parseTenantsArgs(args: string[]): TenantsCommand | string {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (err) {
    return `${(err as Error).message}\n${TENANTS_USAGE}`;
  }
  const { values, positionals } = parsed;
  const [action, name, ...extra] = positionals;
  if (!name || extra.length > 0) return TENANTS_USAGE;
  if (action === 'show') return { action, name };
  if (action !== 'set') return TENANTS_USAGE;
  const flag = values['require-tls'];
  if (flag !== 'true' && flag !== 'false') return `--require-tls must be true or false\n${TENANTS_USAGE}`;
  return { action, name, requireTls: flag === 'true' };
}

function parse(args: string[]) {
  return parseArgs({ args, allowPositionals: true, options: { 'require-tls': { type: 'string' } } });
}

/** Runs a parsed command; writes the tenant's settings as JSON. Exit code 1: no such tenant. */
export async function runTenantsCommand(
  command: TenantsCommand,
  db: Db,
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream } = process,
): Promise<number> {
  const r =
    command.action === 'set'
      ? await db.query<{ name: string; requireTls: boolean }>(
          `UPDATE tenants SET require_tls = $2 WHERE name = $1 RETURNING name, require_tls AS "requireTls"`,
          [command.name, command.requireTls],
        )
      : await db.query<{ name: string; requireTls: boolean }>(
          `SELECT name, require_tls AS "requireTls" FROM tenants WHERE name = $1`,
          [command.name],
        );
  const row = r.rows[0];
  if (!row) {
    io.stderr.write(`posthorn tenants: no tenant named ${command.name}\n`);
    return 1;
  }
  io.stdout.write(`${JSON.stringify(row)}\n`);
  return 0;
}
