/**
 * Bounce-report evaluation: runs our parser and classifier over the development corpus
 * ($POSTHORN_BOUNCE_CORPUS, or by default test/fixtures/corpus/bounces) and prints, against the
 * labels in expected.jsonl, per Sisimai reason and overall (through sisimai-reasons.ts):
 * (a) accuracy; (b) held-family accuracy: the messages whose corpus family (file-name prefix,
 * `lhost-exim`) no rule that fired on them was written from, by each rule's `sources`
 * (core/bounce/rule.ts), and leave-one-family-out accuracy: each family classified again with
 * the reply rules written from it taken out; (c) soft-labelled recipients given a hard verdict,
 * transient answers given a hard category, and catch-all `unknown` answers. Then the
 * permanent/transient confusion matrix and coverage (expected recipients found, matched by file
 * and index order). Sisimai itself (Debian libsisimai-perl, via sisimai-dump.pl) runs over the
 * same files as the peer baseline when installed.
 *
 *   npm run eval:bounces [-- --verbose]   (--verbose lists the misses and the rules that fired)
 *
 * Figures, not a test: it never fails on a low score.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseMail, splitMbox } from '../../adapters/mail-parser.js';
import { RULES } from '../../core/bounce/classify.js';
import { parseReport, REPORT_RULE_SOURCES } from '../../core/bounce/report/index.js';
import type { ReportResult } from '../../core/bounce/report/types.js';
import { corpusFamilies, type ReplyRule } from '../../core/bounce/rule.js';
import { categoriesFor, type EvalCategory, HARD_CATEGORIES } from './sisimai-reasons.js';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../..');

interface Expected {
  file: string;
  index: number | null;
  expected_reason: string | null;
  hard_or_soft: string | null;
  smtp_class: string | null;
}

interface Ours {
  recipient: string | null;
  category: EvalCategory;
  permanence: string;
  /**
   * What Posthorn would do with the address (docs/architecture.md, "Bounces and the
   * taxonomy"): "suppress" stops sending to it.
   */
  action: string;
  confidence: string;
  /** Ids of the rules that fired on the way to the classification. */
  rules: readonly string[];
  diagnostic: string;
  format: string;
}

interface Peer {
  reason: string;
  softbounce: number | null;
}

function oursFrom(r: ReportResult): Ours[] {
  switch (r.kind) {
    case 'dsn':
      return r.recipients.map((x) => ({
        recipient: x.recipient,
        category: x.classification.category,
        permanence: x.classification.permanence,
        action: x.classification.action,
        confidence: x.classification.confidence,
        rules: x.rules,
        diagnostic: `${x.status ?? ''} ${x.diagnostic}`.slice(0, 160),
        format: r.format,
      }));
    case 'complaint':
      return (r.recipients.length > 0 ? r.recipients : [r.recipient]).map((recipient) => ({
        recipient,
        category: 'complaint',
        permanence: 'permanent',
        action: r.classification.action,
        confidence: r.classification.confidence,
        rules: [r.classification.ruleId],
        diagnostic: r.feedbackType,
        format: 'arf',
      }));
    case 'auto_reply':
      return [
        {
          recipient: r.recipient,
          category: 'auto_reply',
          permanence: 'none',
          action: r.classification.action,
          confidence: r.classification.confidence,
          rules: [r.classification.ruleId],
          diagnostic: r.reason,
          format: 'rfc3834',
        },
      ];
    case 'not_bounce':
      return [];
  }
}

async function sisimai(files: string[]): Promise<Map<string, Peer[]> | string> {
  try {
    await run('perl', ['-MSisimai', '-e', '1']);
  } catch {
    return 'sisimai is not installed (apt-get install libsisimai-perl): showing Posthorn alone';
  }
  const { stdout } = await run('perl', [join(here, 'sisimai-dump.pl'), ...files], {
    maxBuffer: 64 * 1024 * 1024,
  });
  const out = new Map<string, Peer[]>();
  for (const line of stdout.split('\n')) {
    if (line.trim() === '') continue;
    const j = JSON.parse(line) as {
      file: string;
      reason?: string;
      softbounce?: number | null;
      error?: string;
    };
    const list = out.get(j.file) ?? [];
    if (j.reason && j.reason !== '(none)') list.push({ reason: j.reason, softbounce: j.softbounce ?? null });
    out.set(j.file, list);
  }
  return out;
}

/** A corpus family: the file name without its number (`lhost-exim-12.eml` → `lhost-exim`). */
export function familyOf(file: string): string {
  return (file.split('/').pop() ?? file).replace(/(?:-\d+)?\.eml$/, '');
}

const RULE_SOURCES: ReadonlyMap<string, readonly string[]> = new Map([
  ...RULES.map((r) => [r.id, r.sources] as const),
  ...Object.entries(REPORT_RULE_SOURCES),
]);

/** Sources of a rule by id; the RFC 3834 auto-reply rules share one entry. */
function sourcesOf(ruleId: string): readonly string[] {
  const known = RULE_SOURCES.get(ruleId) ?? RULE_SOURCES.get(ruleId.replace(/^(report\.rfc3834)\..*$/, '$1'));
  if (known === undefined) throw new Error(`rule ${ruleId} declares no sources`);
  return known;
}

/**
 * Held-family: no rule that fired on the message was written from or tuned on the message's
 * own corpus family (ReplyRule.sources in core/bounce/rule.ts), so getting it right is
 * generalisation, not recall of the same family.
 */
function heldOut(file: string, o: Ours | undefined): boolean {
  if (o === undefined) return true;
  const family = familyOf(file);
  return o.rules.every((id) => !corpusFamilies(sourcesOf(id)).includes(family));
}

/**
 * Whether our answer agrees with Sisimai's reason. Sisimai gives "filtered" to a "user unknown"
 * whose SMTP command it cannot see (sisimai-reasons.ts); Posthorn keeps those words as
 * recipient_unknown but does not suppress on them, which is the same verdict.
 */
function agrees(reason: string, o: Ours): boolean {
  if (categoriesFor(reason).includes(o.category)) return true;
  return reason === 'filtered' && o.category === 'recipient_unknown' && o.action !== 'suppress';
}

const pct = (a: number, b: number): string =>
  b === 0 ? '   -  ' : `${((100 * a) / b).toFixed(1).padStart(5)}%`;

async function main(): Promise<void> {
  const verbose = process.argv.includes('--verbose');
  const corpus = resolve(
    process.env.POSTHORN_BOUNCE_CORPUS ?? join(repoRoot, 'test/fixtures/corpus/bounces'),
  );
  const expected = (await readFile(join(corpus, 'expected.jsonl'), 'utf8'))
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Expected);
  const emailDir = join(corpus, 'emails');
  const files = (await readdir(emailDir)).filter((f) => f.endsWith('.eml')).sort();

  const ours = new Map<string, Ours[]>();
  let parseErrors = 0;
  const oursOf = async (f: string): Promise<Ours[]> => {
    // A file may be an mbox of several bounces (as Sisimai reads it): their recipients in order.
    const found: Ours[] = [];
    for (const raw of splitMbox(await readFile(join(emailDir, f)))) {
      found.push(...oursFrom(parseReport(await parseMail(raw))));
    }
    return found;
  };
  for (const f of files) {
    try {
      ours.set(`emails/${f}`, await oursOf(f));
    } catch (err) {
      parseErrors++;
      ours.set(`emails/${f}`, []);
      if (verbose) console.log(`parse error ${f}: ${String(err)}`);
    }
  }
  // Leave-one-family-out: each family's messages classified again with every reply rule written
  // from that family taken out of the rule list (the report layer's rules are code and stay).
  const lofo = new Map<string, Ours[]>();
  const rules = RULES as ReplyRule[];
  const all = [...rules];
  for (const family of new Set(files.map(familyOf))) {
    rules.splice(0, rules.length, ...all.filter((r) => !corpusFamilies(r.sources).includes(family)));
    for (const f of files.filter((x) => familyOf(x) === family)) {
      lofo.set(`emails/${f}`, await oursOf(f).catch(() => []));
    }
  }
  rules.splice(0, rules.length, ...all);
  const peerRaw = await sisimai(files.map((f) => join(emailDir, f)));
  const peer =
    typeof peerRaw === 'string'
      ? null
      : new Map([...peerRaw].map(([k, v]) => [`emails/${k.split('/').pop()}`, v]));
  if (typeof peerRaw === 'string') console.log(peerRaw);

  type Tally = {
    n: number;
    ours: number;
    peer: number;
    peerLenient: number;
    held: number;
    heldOk: number;
    lofo: number;
  };
  const tally = (): Tally => ({ n: 0, ours: 0, peer: 0, peerLenient: 0, held: 0, heldOk: 0, lofo: 0 });
  const byReason = new Map<string, Tally>();
  const total: Tally = tally();
  let unknownAnswers = 0;
  let softHardCategory = 0;
  let softHardVerdict = 0;
  let transientHard = 0;
  let expectedRcpts = 0;
  let foundOurs = 0;
  let foundPeer = 0;
  const confusion = new Map<string, number>();
  let hardFalse = 0;
  let hardMissed = 0;
  let hardLabelled = 0;
  let peerHardFalse = 0;
  // Posthorn also counts mailbox_disabled as a hard bounce (suppress); Sisimai's "suspend"
  // (a disabled mailbox) is soft, so those rows are left out of this stricter count.
  let hardFalseStrict = 0;
  // What the product does about it: a soft-labelled recipient we would suppress (rows labelled
  // suspend left out: Posthorn suppresses a disabled mailbox). A domain_unknown from a 4.x.x
  // DSN ("DNS Error … NXDOMAIN" with Status 4.0.0) is a hard category but only retried.
  let suppressFalse = 0;
  const misses: string[] = [];
  const lofoMisses: string[] = [];

  for (const e of expected) {
    if (e.expected_reason === null) continue; // a file with no label at all
    const reason = e.expected_reason;
    const want = categoriesFor(reason);
    const t = byReason.get(reason) ?? tally();
    byReason.set(reason, t);
    t.n++;
    total.n++;
    const mine = ours.get(e.file) ?? [];
    const theirs = peer?.get(e.file) ?? [];
    let okOurs: boolean;
    let okPeer: boolean;
    let okPeerLenient: boolean;
    const left = lofo.get(e.file) ?? [];
    if (reason === '(not-a-bounce)') {
      okOurs = mine.length === 0;
      if (left.length === 0) {
        t.lofo++;
        total.lofo++;
      }
      if (heldOut(e.file, undefined)) {
        t.held++;
        total.held++;
        if (okOurs) {
          t.heldOk++;
          total.heldOk++;
        }
      }
      okPeer = theirs.length === 0;
      okPeerLenient = okPeer;
    } else {
      const idx = (e.index ?? 1) - 1;
      const o = mine[idx];
      const p = theirs[idx];
      expectedRcpts++;
      if (o) foundOurs++;
      if (p) foundPeer++;
      okOurs = o !== undefined && agrees(reason, o);
      const l = left[idx];
      if (l !== undefined && agrees(reason, l)) {
        t.lofo++;
        total.lofo++;
      } else {
        lofoMisses.push(
          `  ${e.file}#${e.index} ${reason} → ${l ? `${l.category}/${l.action} ${l.rules.join('>')} ${l.diagnostic}` : 'MISSING'}`,
        );
      }
      if (o?.category === 'unknown') unknownAnswers++;
      if (heldOut(e.file, o)) {
        t.held++;
        total.held++;
        if (okOurs) {
          t.heldOk++;
          total.heldOk++;
        }
      }
      if (o && o.permanence === 'transient' && HARD_CATEGORIES.has(o.category)) transientHard++;
      if (e.hard_or_soft === 'soft' && o && HARD_CATEGORIES.has(o.category)) {
        softHardCategory++;
        // A hard verdict: the address is declared bad (suppressed), or the category says so
        // with a permanent reply behind it and nothing to say it is unconfirmed.
        if (o.action === 'suppress' || (o.permanence === 'permanent' && o.confidence !== 'low'))
          softHardVerdict++;
      }
      okPeer = p !== undefined && p.reason === reason;
      okPeerLenient = okPeer || (p !== undefined && categoriesFor(p.reason).some((c) => want.includes(c)));
      const cls = e.smtp_class ?? 'n/a';
      const key = `${cls}|${o ? o.permanence : 'missing'}`;
      confusion.set(key, (confusion.get(key) ?? 0) + 1);
      if (e.hard_or_soft === 'hard') {
        hardLabelled++;
        if (!o || !HARD_CATEGORIES.has(o.category)) hardMissed++;
      }
      if (e.hard_or_soft === 'soft' && o && HARD_CATEGORIES.has(o.category)) {
        hardFalse++;
        misses.push(
          `  SOFT-GIVEN-HARD-CATEGORY ${e.file}#${e.index} ${reason} → ${o.category}/${o.action}/${o.confidence} ${o.rules.join('>')}`,
        );
      }
      if (e.hard_or_soft === 'soft' && p && p.softbounce === 0) peerHardFalse++;
      if (e.hard_or_soft === 'soft' && reason !== 'suspend' && o) {
        if (HARD_CATEGORIES.has(o.category) || o.category === 'mailbox_disabled') hardFalseStrict++;
        if (o.action === 'suppress') suppressFalse++;
      }
      if (!okOurs) {
        misses.push(
          `  ${e.file}#${e.index} ${reason} → ${o ? `${o.category}/${o.action}/${o.confidence} ${o.rules.join('>')} [${o.format}] ${o.diagnostic}` : 'MISSING'}`,
        );
      }
    }
    if (okOurs) {
      t.ours++;
      total.ours++;
    }
    if (okPeer) {
      t.peer++;
      total.peer++;
    }
    if (okPeerLenient) {
      t.peerLenient++;
      total.peerLenient++;
    }
  }

  const withPeer = peer !== null;
  console.log(`Bounce corpus: ${corpus}`);
  console.log(
    `${files.length} files, ${total.n} labelled rows, ${parseErrors} files mailparser could not read\n`,
  );
  const head = withPeer ? `  ${'sisimai'.padStart(8)}  ${'sis.mapped'.padStart(10)}` : '';
  console.log(
    `${'sisimai reason'.padEnd(18)} ${'n'.padStart(4)}  ${'posthorn'.padStart(8)}  ${'held n'.padStart(6)}  ${'held'.padStart(6)}  ${'lofo'.padStart(6)}${head}`,
  );
  const line = (name: string, t: Tally): string =>
    `${name.padEnd(18)} ${String(t.n).padStart(4)}  ${pct(t.ours, t.n).padStart(8)}  ${String(t.held).padStart(6)}  ${pct(t.heldOk, t.held).padStart(6)}  ${pct(t.lofo, t.n).padStart(6)}${withPeer ? `  ${pct(t.peer, t.n).padStart(8)}  ${pct(t.peerLenient, t.n).padStart(10)}` : ''}`;
  for (const [reason, t] of [...byReason].sort((a, b) => b[1].n - a[1].n)) console.log(line(reason, t));
  console.log(line('OVERALL', total));
  console.log(`
(a) overall accuracy:       ${total.ours}/${total.n} ${pct(total.ours, total.n)}
(b) held-family accuracy:   ${total.heldOk}/${total.held} ${pct(total.heldOk, total.held)} (messages whose family no rule that fired on them was written from)
    leave-one-family-out:   ${total.lofo}/${total.n} ${pct(total.lofo, total.n)} (every message, classified with the reply rules written from its own family taken out)
(c) soft given a hard verdict: ${softHardVerdict} (hard category with action suppress, or permanent at medium/high confidence; labelled soft)
    transient (4xx / 4.x.x) answer given a hard category: ${transientHard}
    soft given a hard category at all: ${softHardCategory} (includes unconfirmed "user unknown" kept as words, action fail, low confidence)
    catch-all "unknown" answers: ${unknownAnswers}`);
  console.log(
    `\nCoverage (expected recipients found, by file + index): posthorn ${foundOurs}/${expectedRcpts} ${pct(foundOurs, expectedRcpts)}${withPeer ? `, sisimai ${foundPeer}/${expectedRcpts} ${pct(foundPeer, expectedRcpts)}` : ''}`,
  );
  console.log('\nPermanence (rows: label smtp_class; columns: our permanence)');
  const cols = ['permanent', 'transient', 'none', 'missing'];
  console.log(`${''.padEnd(12)}${cols.map((c) => c.padStart(11)).join('')}`);
  for (const row of ['permanent', 'transient', 'success', 'n/a']) {
    console.log(
      `${row.padEnd(12)}${cols.map((c) => String(confusion.get(`${row}|${c}`) ?? 0).padStart(11)).join('')}`,
    );
  }
  console.log(
    `\nHard-bounce categories (${[...HARD_CATEGORIES].join(', ')}) for a recipient labelled soft: posthorn ${hardFalse}${withPeer ? `, sisimai hard for soft ${peerHardFalse}` : ''}`,
  );
  console.log(
    `Same, counting mailbox_disabled as hard too (rows labelled suspend left out): posthorn ${hardFalseStrict}`,
  );
  console.log(
    `Suppressed (action "suppress") for a recipient labelled soft (rows labelled suspend left out): posthorn ${suppressFalse}`,
  );
  console.log(`Recipients labelled hard that we did not call hard: ${hardMissed}/${hardLabelled}`);
  if (verbose) console.log(`\nMisses:\n${misses.join('\n')}`);
  if (verbose) console.log(`\nLeave-one-family-out misses:\n${lofoMisses.join('\n')}`);
}

await main();
