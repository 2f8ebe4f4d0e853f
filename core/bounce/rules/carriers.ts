import type { ReplyRule } from '../rule.js';

// Wording of particular mail systems that no generic phrase covers: a carrier's per-recipient
// filter, Lotus Domino's directory, a carrier's MMS centre. Written from the development
// corpus, as their sources say, with the systems' own documentation where there is one.

export const CARRIER_RULES: readonly ReplyRule[] = [
  {
    // au (KDDI, ezweb.ne.jp/au.com) answers "550 : User unknown" - with no address - when the
    // recipient's own filter (receive-refusal settings) refuses the sender; a mailbox that
    // does not exist gets "550 <addr>: User unknown" (Sisimai::Rhost::KDDI). Also seen relayed
    // through Gmail, Yahoo and Exchange Online ("... -> 550 : User unknown").
    id: 'kddi.filtered-user-unknown',
    sources: [
      'Sisimai::Rhost::KDDI',
      'tuned on the development corpus',
      'corpus:lhost-amavis',
      'corpus:lhost-dragonfly',
      'corpus:lhost-ezweb',
      'corpus:lhost-mailru',
      'corpus:lhost-mxlogic',
      'corpus:lhost-office365',
      'corpus:lhost-opensmtpd',
      'corpus:lhost-postfix',
      'corpus:lhost-qmail',
      'corpus:lhost-sendmail',
      'corpus:lhost-v5sendmail',
      'corpus:lhost-x1',
      'corpus:lhost-x5',
      'corpus:lhost-yahoo',
      'corpus:rfc3464',
      'corpus:rhost-gsuite',
      'corpus:rhost-kddi',
    ],
    match: { code: ['5xx'], text: /(?:^|\b[45]\d\d\b:?)\s*:\s*User unknown\s*$/i },
    category: 'policy',
    examples: [
      '550 : User unknown',
      '550 5.1.351 Remote server returned unknown recipient or mailbox unavailable -> 550 : User unknown',
    ],
  },
  {
    // Lotus Notes / Domino: the recipient is not in the server's own Domino Directory (the
    // Name & Address Book), in the English and the Japanese releases. The directory lookup is
    // the mailbox server's own, so this is first-hand whatever command it answered.
    id: 'notes.not-in-directory',
    sources: [
      'Sisimai::Lhost::Domino, Sisimai::Lhost::Notes',
      'tuned on the development corpus',
      'corpus:lhost-domino',
      'corpus:lhost-notes',
    ],
    match: {
      text: /not listed in (?:the )?(?:public name|domino directory)|ディレクトリ(?:には|に)見つかりません|ディレクトリのリストにありません/i,
    },
    category: 'recipient_unknown',
    examples: [
      'User not listed in public Name & Address Book',
      'ユーザー Neko (kijitora@example.co.jp) は Domino ディレクトリには見つかりません。',
      'ディレクトリのリストにありません',
    ],
  },
  {
    // A carrier's MMS centre (Verizon's vzwpix.com MMSC NDR) answering for its own
    // subscribers: the number behind the address does not exist.
    id: 'mmsc.no-valid-recipients',
    sources: ['tuned on the development corpus', 'corpus:lhost-verizon'],
    match: { text: /no valid recipients for this MM\b/i },
    category: 'recipient_unknown',
    examples: ['Message could not be delivered to mobile. Error: No valid recipients for this MM'],
  },
];
