/**
 * `posthorn classify`: classify SMTP replies from the command line.
 *
 *   --reply "550 5.1.1 <a@b.example>: user unknown" [--provider google]
 *       prints one JSON line for that reply.
 *   --jsonl [--provider google]
 *       reads JSON lines {code, enhanced, text, provider?} from stdin and prints one JSON line
 *       per input line; a bad line prints {"error": "..."} and the rest go on. Blank lines
 *       are skipped.
 *
 * Exit code: 0 when every reply was classified, 1 when some JSONL line was bad, 2 on usage errors.
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { classifyReply, normalizeReply } from '../core/bounce/classify.js';
import type { ReplyInput } from '../core/bounce/taxonomy.js';
import { parseSmtpReply } from '../core/delivery/smtp-reply.js';

export interface ClassifyIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

const USAGE =
  'usage: posthorn classify --reply "<smtp reply line>" [--provider <id>]\n' +
  '       posthorn classify --jsonl [--provider <id>] < replies.jsonl\n';

// RFC 5321 §4.2: three digits, first 2-5.
const ReplyCode = z.number().int().min(200).max(599);

const JsonlLine = z.object({
  code: z
    .union([
      z.number(),
      z
        .string()
        .trim()
        .regex(/^\d{3}$/, 'code must be three digits'),
    ])
    .transform(Number)
    .pipe(ReplyCode),
  enhanced: z.string().nullable().optional(),
  text: z.string(),
  provider: z.string().nullable().optional(),
});

function resultOf(input: ReplyInput): Record<string, unknown> {
  const c = classifyReply(input);
  const reply = normalizeReply(input);
  return {
    category: c.category,
    permanence: c.permanence,
    scope: c.scope,
    action: c.action,
    confidence: c.confidence,
    ruleId: c.ruleId,
    status: reply.status,
    replyCode: input.code,
  };
}

function writeLine(out: NodeJS.WritableStream, value: unknown): void {
  out.write(`${JSON.stringify(value)}\n`);
}

function errorText(e: unknown): string {
  if (e instanceof z.ZodError) {
    return e.issues
      .map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message))
      .join('; ');
  }
  return e instanceof Error ? e.message : String(e);
}

async function runJsonl(io: ClassifyIo, provider: string | null): Promise<number> {
  let bad = 0;
  const lines = createInterface({ input: io.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    try {
      const row = JsonlLine.parse(JSON.parse(line));
      writeLine(
        io.stdout,
        resultOf({
          code: row.code,
          enhanced: row.enhanced ?? null,
          text: row.text,
          provider: row.provider ?? provider,
        }),
      );
    } catch (e) {
      bad++;
      writeLine(io.stdout, { error: errorText(e) });
    }
  }
  return bad > 0 ? 1 : 0;
}

export async function runClassifyReply(args: string[], io: ClassifyIo): Promise<number> {
  let values: { reply?: string; jsonl?: boolean; provider?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args,
      options: {
        reply: { type: 'string' },
        jsonl: { type: 'boolean' },
        provider: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    io.stderr.write(`${errorText(e)}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  const provider = values.provider ?? null;
  if (values.jsonl && values.reply === undefined) return runJsonl(io, provider);
  if (values.reply !== undefined && !values.jsonl) {
    const reply = parseSmtpReply(values.reply.replace(/\\n/g, '\n'));
    if (reply === null) {
      io.stderr.write(`not an SMTP reply (no 2xx-5xx code at the start): ${values.reply}\n`);
      return 2;
    }
    writeLine(io.stdout, resultOf({ ...reply, provider }));
    return 0;
  }
  io.stderr.write(USAGE);
  return 2;
}
