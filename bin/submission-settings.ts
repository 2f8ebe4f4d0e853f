import { resolve } from 'node:path';
import {
  ensureSelfSignedCertificate,
  readTlsMaterial,
  type TlsMaterial,
} from '../adapters/tls-certificate.js';
import type { Config } from '../config/schema.js';

/** What the node's SMTP submission listeners run with. */
export interface SubmissionSettings {
  readonly host: string;
  /** STARTTLS port; 0: off. */
  readonly port: number;
  /** Implicit TLS port; 0: off. */
  readonly tlsPort: number;
  readonly tls: TlsMaterial;
  /** Where the certificate came from, for the start-up log. */
  readonly certificate: string;
}

/**
 * The submission settings of a node, or why submission is off. `serve` listens on 587 and
 * 465 (RFC 6409, RFC 8314) when it has a certificate, and is off without one unless a port
 * was set, which is then an error; `dev` listens on 2587 and 2465 (no root needed; Resend's
 * relay offers the same two as alternatives) with a self-signed certificate made under the
 * data directory when none is given.
 */
export function submissionSettings(
  config: Config,
  mode: 'dev' | 'serve',
  now: Date,
): { on: true; settings: SubmissionSettings } | { on: false; why: string } {
  const port = config.submissionPort ?? (mode === 'dev' ? 2587 : 587);
  const tlsPort = config.submissionsPort ?? (mode === 'dev' ? 2465 : 465);
  if (port === 0 && tlsPort === 0) return { on: false, why: 'both submission ports are 0' };
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) {
    throw new Error('POSTHORN_TLS_CERT and POSTHORN_TLS_KEY go together: set both or neither');
  }
  if (config.tlsCert && config.tlsKey) {
    return {
      on: true,
      settings: {
        host: config.submissionHost,
        port,
        tlsPort,
        tls: readTlsMaterial(config.tlsCert, config.tlsKey),
        certificate: config.tlsCert,
      },
    };
  }
  if (mode === 'serve') {
    if (config.submissionPort !== undefined || config.submissionsPort !== undefined) {
      throw new Error(
        'SMTP submission needs a certificate: set POSTHORN_TLS_CERT and POSTHORN_TLS_KEY, or set the submission ports to 0',
      );
    }
    return { on: false, why: 'no certificate (POSTHORN_TLS_CERT, POSTHORN_TLS_KEY)' };
  }
  const made = ensureSelfSignedCertificate(resolve(config.dataDir), config.hostname, now);
  return {
    on: true,
    settings: {
      host: config.submissionHost,
      port,
      tlsPort,
      tls: readTlsMaterial(made.certPath, made.keyPath),
      certificate: `${made.certPath} (self-signed${made.created ? ', new' : ''})`,
    },
  };
}
