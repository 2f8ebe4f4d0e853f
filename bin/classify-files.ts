/**
 * `posthorn classify FILE.eml [FILE.eml …]`: parses each file as a received report
 * (DSN, text bounce, ARF complaint, auto-reply) and prints one JSON line per recipient:
 * {file, recipient, category, permanence, action, confidence, ruleId, status, replyCode,
 * diagnostic, feedbackType}: the category is what happened (reports, search), the action what
 * Posthorn does about it (suppression, reputation), docs/architecture.md "Bounces and the taxonomy".
 * A mail that is no report prints one line with category "not_bounce"; a file that cannot
 * be read or parsed prints {file, error} and the command goes on. Exit code 1 when any
 * file failed, else 0.
 */
import { readFile } from 'node:fs/promises';
import { parseMail } from '../adapters/mail-parser.js';
import { parseReport } from '../core/bounce/report/index.js';
import type { ReportResult } from '../core/bounce/report/types.js';

export interface ClassifyLine {
  readonly file: string;
  readonly recipient: string | null;
  readonly category: string;
  readonly permanence: string;
  readonly action: string;
  readonly confidence: string;
  readonly ruleId: string | null;
  readonly status: string | null;
  readonly replyCode: number | null;
  readonly diagnostic: string | null;
  readonly feedbackType: string | null;
}

/** The output lines for one parsed report. */
export function linesFor(file: string, r: ReportResult): ClassifyLine[] {
  switch (r.kind) {
    case 'dsn':
      return r.recipients.map((x) => ({
        file,
        recipient: x.recipient,
        category: x.classification.category,
        permanence: x.classification.permanence,
        action: x.classification.action,
        confidence: x.classification.confidence,
        ruleId: x.classification.ruleId,
        status: x.status,
        replyCode: x.replyCode,
        diagnostic: x.diagnostic === '' ? null : x.diagnostic,
        feedbackType: null,
      }));
    case 'complaint':
      return (r.recipients.length > 0 ? r.recipients : [r.recipient]).map((recipient) => ({
        file,
        recipient,
        category: r.classification.category,
        permanence: r.classification.permanence,
        action: r.classification.action,
        confidence: r.classification.confidence,
        ruleId: r.classification.ruleId,
        status: null,
        replyCode: null,
        diagnostic: null,
        feedbackType: r.feedbackType,
      }));
    case 'auto_reply':
      return [
        {
          file,
          recipient: r.recipient,
          category: r.classification.category,
          permanence: r.classification.permanence,
          action: r.classification.action,
          confidence: r.classification.confidence,
          ruleId: r.classification.ruleId,
          status: null,
          replyCode: null,
          diagnostic: r.reason,
          feedbackType: null,
        },
      ];
    case 'not_bounce':
      return [
        {
          file,
          recipient: null,
          category: 'not_bounce',
          permanence: 'none',
          action: 'none',
          confidence: 'high',
          ruleId: null,
          status: null,
          replyCode: null,
          diagnostic: null,
          feedbackType: null,
        },
      ];
  }
}

export async function runClassifyFiles(
  paths: string[],
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
): Promise<number> {
  let failed = false;
  for (const file of paths) {
    let out: unknown[];
    try {
      const raw = await readFile(file);
      out = linesFor(file, parseReport(await parseMail(raw)));
    } catch (err) {
      failed = true;
      out = [{ file, error: err instanceof Error ? err.message : String(err) }];
    }
    for (const line of out) io.stdout.write(`${JSON.stringify(line)}\n`);
  }
  return failed ? 1 : 0;
}
