/** The text bounce formats, most specific first; `generic` is applied separately. */
import { amazonses } from './amazonses.js';
import { angleList } from './angle-list.js';
import { dragonfly } from './dragonfly.js';
import { exchange } from './exchange.js';
import { exim } from './exim.js';
import { fml } from './fml.js';
import { gmail } from './gmail.js';
import { imail } from './imail.js';
import { notes } from './notes.js';
import { opensmtpd } from './opensmtpd.js';
import { postfixTranscript } from './postfix-transcript.js';
import { sendmail } from './sendmail.js';
import type { TextFormat } from './types.js';

export const TEXT_FORMATS: readonly TextFormat[] = [
  fml,
  amazonses,
  dragonfly,
  gmail,
  exim,
  opensmtpd,
  postfixTranscript,
  sendmail,
  imail,
  exchange,
  notes,
  angleList,
];

export { genericRecipients, reasonParagraphs } from './generic.js';
export type { FormatInput, TextFormat } from './types.js';
