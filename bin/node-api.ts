import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from '../config/schema.js';

/**
 * How a CLI command reaches the running node's operator routes (`posthorn egress`,
 * `posthorn trace`): its API on this machine and the operator token.
 */

/** The node's API as seen from the machine it runs on: a wildcard listener is reached on loopback. */
export function nodeUrl(config: Config): string {
  const host = config.apiHost === '0.0.0.0' || config.apiHost === '::' ? '127.0.0.1' : config.apiHost;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.apiPort}`;
}

/** Where `posthorn dev` keeps the operator token it generated. */
export const adminTokenFile = (config: Config) => join(resolve(config.dataDir), 'admin-token');

/** POSTHORN_ADMIN_TOKEN, or the one `posthorn dev` generated into the data directory. */
export function operatorToken(config: Config): string | null {
  if (config.adminToken) return config.adminToken;
  const file = adminTokenFile(config);
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : null;
}
