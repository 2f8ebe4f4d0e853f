import type { FoundRecipient, ParsedMailLike } from '../types.js';

/** What a text-format parser reads: the mail and its text, cut where the returned message starts. */
export interface FormatInput {
  readonly mail: ParsedMailLike;
  /** All text parts joined. */
  readonly text: string;
  /** The explanation: `text` up to the returned message. */
  readonly head: string;
  readonly subject: string;
  readonly from: string;
}

/** One non-RFC 3464 bounce format: recognises its text and reads the recipients. */
export interface TextFormat {
  readonly id: string;
  detect(input: FormatInput): boolean;
  parse(input: FormatInput): FoundRecipient[];
}
