import type { ReplyRule } from '../rule.js';

// Generic rules about the recipient's mailbox or domain, the sender address, and relaying.
// Order inside this list matters: "full" and "disabled" before "unknown" (qmail prefixes every
// recipient reply with "does not like recipient"), the sender before the recipient ("Sender
// address rejected" is not "address rejected").

export const ADDRESSING_RULES: readonly ReplyRule[] = [
  {
    id: 'generic.mailbox-full',
    sources: [
      'tuned on the development corpus',
      'corpus:lhost-amazonses',
      'corpus:lhost-amazonworkmail',
      'corpus:lhost-biglobe',
      'corpus:lhost-dragonfly',
      'corpus:lhost-exchange2007',
      'corpus:lhost-exim',
      'corpus:lhost-gmail',
      'corpus:lhost-gmx',
      'corpus:lhost-kddi',
      'corpus:lhost-mailfoundry',
      'corpus:lhost-mailru',
      'corpus:lhost-messagingserver',
      'corpus:lhost-opensmtpd',
      'corpus:lhost-outlook',
      'corpus:lhost-postfix',
      'corpus:lhost-qmail',
      'corpus:lhost-receivingses',
      'corpus:lhost-sendmail',
      'corpus:lhost-x2',
      'corpus:lhost-x3',
      'corpus:lhost-yahoo',
      'corpus:lhost-yandex',
      'corpus:lhost-zoho',
      'corpus:rb-issue-368-bug',
      'corpus:rfc3464',
      'corpus:rhost-aol',
      'corpus:rhost-apple',
      'corpus:rhost-outlook',
    ],
    match: {
      text: /mailbox (?:is )?full|over ?quota|quota (?:exceeded|exceed)|exceeded (?:storage|the local limit)|disk quota|out of (?:storage|disk) space|not enough (?:disk )?space|mailbox is stuffed|mailbox size limit|account is full|storage quota/i,
    },
    category: 'mailbox_full',
    examples: [
      '552 5.2.2 Mailbox full',
      '552 5.2.2 Over quota',
      '452 4.2.2 Mailbox quota exceeded',
      '552 5.2.2 <apple@icloud.com>: user is over quota (in reply to RCPT TO command)',
      '552 5.2.2 mailbox is stuffed',
      "The number of messages in recipient's mailbox exceeded the local limit.",
    ],
  },
  {
    // A local delivery program failed (RFC 3463 X.3.0 "mailer error"): Exim's "pipe to |/path",
    // procmail and maildrop complaints, Sendmail's "unknown mailer error <exit status>". After
    // the quota rule ("maildrop: maildir over quota" is a full mailbox), before "No such user",
    // which procmail prints when it cannot create a spool file.
    id: 'generic.mailer-error',
    sources: [
      'tuned on the development corpus',
      'corpus:lhost-exim',
      'corpus:lhost-postfix',
      'corpus:lhost-sendmail',
    ],
    match: { text: /pipe to \||\bprocmail: |\bmaildrop: |unknown mailer error/i },
    category: 'remote_error',
    examples: [
      'pipe to |/usr/local/neko/bin/cat kijitora@example.com /home/neko/.cat',
      'procmail: Lock failure on "/var/virtmail/k/ij/it/kijitora/mailbox.lock" procmail: Error while writing to "/var/virtmail/k/ij/it/kijitora/mailbox"',
      '554 5.3.0 unknown mailer error 255',
    ],
  },
  {
    // RFC 3463 x.1.6 and RFC 7293 (x.7.17, x.7.18): the address now belongs elsewhere or to someone else.
    id: 'generic.has-moved',
    sources: ['tuned on the development corpus', 'corpus:lhost-postfix', 'corpus:lhost-sendmail'],
    match: {
      text: /no longer on (?:this )?server|(?:mailbox|domain) owner has changed|user has moved|not our customer/i,
    },
    category: 'has_moved',
    examples: [
      '550 5.1.6 recipient no longer on server: kijitora@example.go.jp (in reply to RCPT TO command)',
      '551 4.7.17 mailbox owner has changed',
      '551 4.7.18 domain owner has changed',
    ],
  },
  {
    id: 'generic.mailbox-disabled',
    sources: [
      'tuned on the development corpus',
      'corpus:lhost-dragonfly',
      'corpus:lhost-ezweb',
      'corpus:lhost-postfix',
      'corpus:lhost-powermta',
      'corpus:lhost-qmail',
      'corpus:lhost-x2',
    ],
    match: {
      text: /(?:account|mailbox|user|address) (?:has been |is |was )?(?:disabled|deactivated|suspended|inactive|locked|expired|frozen|discontinued)|(?:disabled|inactive|suspended) (?:account|mailbox|user)|account has been disabled|no longer (?:valid|active|in use)|banned recipient|mailbox cannot be accessed|recipient account is blocked/i,
    },
    category: 'mailbox_disabled',
    examples: [
      '550 5.2.1 Mailbox disabled',
      '550 Account has been disabled',
      '550 This mailbox is disabled and not accepting messages',
      '525 4.7.13 user account is disabled',
      'Sorry your message to mikeneko@example.com cannot be delivered. This account has been disabled or discontinued [#102].',
    ],
  },
  {
    // RFC 3463 x.1.7 / x.1.8 and sender-verification failures: the envelope sender is refused.
    id: 'generic.sender-rejected',
    sources: [
      'tuned on the development corpus',
      'corpus:lhost-exim',
      'corpus:lhost-mailru',
      'corpus:lhost-messagingserver',
      'corpus:lhost-office365',
      'corpus:lhost-postfix',
      'corpus:lhost-yahoo',
      'corpus:rfc3464',
      'corpus:rhost-gsuite',
    ],
    match: {
      text: /sender (?:address )?(?:rejected|denied|invalid|not allowed|blocked)|sender rejected|unknown sender|sender verify failed|bad (?:outbound )?sender|domain of sender address .* does not exist|From: Domain is invalid|not allowed to send from|Email address is not verified|invalid sender|sender (?:was )?not authenticated|allowed-senders list|sender domain (?:must exist|not found)/i,
    },
    category: 'sender_rejected',
    examples: [
      '501 5.1.8 Sender address rejected',
      '553 5.1.8 <root@vagrant-centos65.vagrantup.com>... Domain of sender address root@vagrant-centos65.vagrantup.com does not exist',
    ],
  },
  {
    // RFC 5321 §3.6.2: the server is not the destination for this domain and will not relay.
    id: 'generic.relay-denied',
    sources: [
      'tuned on the development corpus',
      'corpus:lhost-amazonses',
      'corpus:lhost-dragonfly',
      'corpus:lhost-mimecast',
      'corpus:lhost-postfix',
      'corpus:rfc3464',
    ],
    match: {
      text: /relay(?:ing)? (?:access )?(?:denied|not permitted|not allowed|prohibited)|unable to relay|do not relay|not configured to relay|open relay (?:is )?not allowed|allowed rcpthosts|not a registered gateway user|client was not authenticated|\bno relaying\b/i,
    },
    category: 'relay_denied',
    examples: [
      '550 5.7.2 Relay access denied',
      '450 4.7.1 We do not relay for example.com',
      '451 relay not permitted!',
      "553 sorry, that domain isn't in my list of allowed rcpthosts; no valid cert for gatewaying (#5.7.1)",
      '550 relaying denied for <***@yahoo.com>',
      '550 5.7.0 <norelaying@libsisimai.net>: Recipient address rejected: No relaying. See https://libsisimai.org/en/reason/#norelaying',
    ],
  },
  {
    // Exchange Online DBEB and Postfix "Access denied" on RCPT: no such recipient here.
    id: 'generic.recipient-access-denied',
    sources: ['tuned on the development corpus', 'corpus:lhost-exim'],
    match: { code: ['5xx'], text: /Recipient address rejected: Access denied/i },
    category: 'recipient_unknown',
    examples: ['554 5.7.1 <kijitora@exmaple.ch>: Recipient address rejected: Access denied'],
  },
  {
    // au (KDDI, ezweb.ne.jp/au.com) answers "550 : User unknown" - with no address - when the
    // recipient's own filter (receive-refusal settings) refuses the sender; a mailbox that
    // does not exist gets "550 <addr>: User unknown" (Sisimai::Rhost::KDDI). Also seen relayed
    // through Gmail, Yahoo and Exchange Online ("... -> 550 : User unknown").
    id: 'kddi.filtered-user-unknown',
    sources: [
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
    sources: ['tuned on the development corpus', 'corpus:lhost-domino', 'corpus:lhost-notes'],
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
  {
    id: 'generic.user-unknown',
    sources: [
      'tuned on the development corpus',
      'corpus:lhost-amavis',
      'corpus:lhost-amazonses',
      'corpus:lhost-amazonworkmail',
      'corpus:lhost-apachejames',
      'corpus:lhost-bigfoot',
      'corpus:lhost-courier',
      'corpus:lhost-dragonfly',
      'corpus:lhost-exchange2003',
      'corpus:lhost-exim',
      'corpus:lhost-ezweb',
      'corpus:lhost-gmail',
      'corpus:lhost-gmx',
      'corpus:lhost-imailserver',
      'corpus:lhost-mailmarshal',
      'corpus:lhost-mailru',
      'corpus:lhost-mcafee',
      'corpus:lhost-messagingserver',
      'corpus:lhost-mxlogic',
      'corpus:lhost-office365',
      'corpus:lhost-opensmtpd',
      'corpus:lhost-outlook',
      'corpus:lhost-postfix',
      'corpus:lhost-powermta',
      'corpus:lhost-qmail',
      'corpus:lhost-receivingses',
      'corpus:lhost-sendgrid',
      'corpus:lhost-sendmail',
      'corpus:lhost-surfcontrol',
      'corpus:lhost-trendmicro',
      'corpus:lhost-v5sendmail',
      'corpus:lhost-x1',
      'corpus:lhost-x2',
      'corpus:lhost-x3',
      'corpus:lhost-x5',
      'corpus:lhost-x6',
      'corpus:lhost-yahoo',
      'corpus:lhost-yandex',
      'corpus:lhost-zoho',
      'corpus:rfc3464',
      'corpus:rhost-aol',
      'corpus:rhost-facebook',
      'corpus:rhost-franceptt',
      'corpus:rhost-godaddy',
      'corpus:rhost-google',
      'corpus:rhost-gsuite',
      'corpus:rhost-kddi',
      'corpus:rhost-messagelabs',
      'corpus:rhost-nttdocomo',
      'corpus:rhost-outlook',
    ],
    match: {
      text: /user unknown|unknown (?:user|recipient|mailbox|address|alias)|no such (?:user|mailbox|recipient|account|address)|(?:user|mailbox|recipient|address|account) (?:does not|doesn't|did not) exist|(?:user|mailbox|recipient) not found|user not exist|invalid (?:recipient|mailbox|user|final delivery userid)|not a valid (?:recipient|mailbox)|bad destination mailbox|unknown or illegal (?:user|alias)|no mailbox here by that name|address (?:couldn't|could not) be found|address not found|recipient not found|recipnotfound|user doesn't have an? \S+ account|addressee unknown|mailbox unavailable|no valid recipients|address reserved by rfc 2606|recipient address rejected\.?(?: \(|$)|address rejected \S+@|^address rejected\.?$|invalid address/i,
    },
    category: 'recipient_unknown',
    examples: [
      '550 5.1.1 <test@example.com>: Recipient address rejected: User unknown',
      '550 No such user - psmtp',
      '550 User unknown',
      '550 5.1.2 Bad destination mailbox address',
      '553 Invalid recipient kijitora@example.org (Mode: normal)',
      '550 5.1.1 <kijitora@example.jp>: Recipient address rejected: User unknown in local recipient table',
      '550 5.2.1 <EXAMPLE@PRODIGY.NET>... Addressee unknown, relay=[x.xx.xx.xx]',
      '550 5.1.1 RCP-P1 http://postmaster.facebook.com/response_codes?ip=192.0.2.54#rcp Recipient address does not exist',
      // RFC 3463 X.1.0 with nothing else: the address was refused (G Suite, Exchange).
      '550 #5.1.0 Address rejected.',
    ],
  },
  {
    // A DNS answer that may change (SERVFAIL, timeout): the domain may well exist. Before the
    // domain rule, since these texts also say "Host not found".
    id: 'generic.dns-failure',
    sources: [
      'tuned on the development corpus',
      'corpus:lhost-office365',
      'corpus:lhost-postfix',
      'corpus:lhost-sendmail',
      'corpus:rfc3464',
    ],
    match: {
      text: /host not found, try again|temporary (?:MX )?lookup (?:error|failure)|DNS lookup failure(?!: host \S+ not found)|SERVFAIL|malformed or unexpected name server reply|host name lookup failure|name server timeout|DNS query failed/i,
    },
    category: 'dns_failure',
    examples: [
      // Exchange Online, the queue gave up while the recipient domain's DNS kept failing.
      '550 5.4.312 Message expired, DNS query failed',
      'Name service error for domain example.com: Host not found, try again',
      'Temporary MX lookup error for {domain}',
      'Deferred: Name server: example.co.jp.: host name lookup failure',
    ],
  },
  {
    // RFC 7505 null MX, NXDOMAIN and no MX: the recipient's domain cannot receive mail.
    id: 'generic.domain-unknown',
    sources: [
      'tuned on the development corpus',
      'corpus:lhost-amazonses',
      'corpus:lhost-courier',
      'corpus:lhost-dragonfly',
      'corpus:lhost-mailru',
      'corpus:lhost-messagingserver',
      'corpus:lhost-opensmtpd',
      'corpus:lhost-outlook',
      'corpus:lhost-qmail',
      'corpus:lhost-sendmail',
      'corpus:lhost-v5sendmail',
      'corpus:lhost-yahoo',
      'corpus:rfc3464',
      'corpus:rhost-aol',
      'corpus:rhost-gsuite',
    ],
    match: {
      text: /(?:host|domain) (?:unknown|not found)|DNS lookup failure: host \S+ not found|no such domain|domain (?:does not|doesn't) exist|domain name not found|NXDOMAIN|unrouteable address|illegal host\/domain|couldn't find any host named|no mx(?: record)?(?: found)? for|had no relevant answers|single label domains|null mx|sends and receives no email|does not accept mail|doesn't receive email|indicated no SMTP service|couldn't find a mail exchanger|nowhere to deliver mail|domain is not reachable|invalid domain\b(?! name)/i,
    },
    category: 'domain_unknown',
    examples: [
      '550 5.4.4 Invalid domain',
      '550 5.1.2 <kijitora@example.org>... Host unknown (Name server: smtp24.example.org: no data known)',
      '554 The mail could not be delivered to the recipient because the domain is not reachable. Please check the domain and try again (-1915321397:308:-2147467259)',
      '550 Host does not accept mail',
      'Domain {domain} sends and receives no email (NULL MX)',
      'DNS lookup failure: host cx.libsisimai.org not found',
    ],
  },
  {
    // RFC 7504: 521 "host does not accept mail" and 556 "domain does not accept mail" (the
    // reply to a null MX, RFC 7505 §4.2); the text varies, the code is specific.
    id: 'rfc7504.does-not-accept-mail',
    sources: ['tuned on the development corpus', 'corpus:lhost-dragonfly'],
    match: { code: [521, 556] },
    category: 'domain_unknown',
    examples: [
      '521 5.3.2 <notaccept@libsisimai.net>: Recipient address rejected: System not accepting network messages. See https://libsisimai.org/en/reason/#notaccept',
    ],
  },
];
