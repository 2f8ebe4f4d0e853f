import { citing, type ReplyRule } from '../rule.js';

// Orange / Wanadoo (France). Replies end with an OFR code documented on
// https://postmaster.orange.fr; La Poste uses LPN codes in the same style.
const O = 'orange' as const;

export const ORANGE_RULES: readonly ReplyRule[] = citing(
  [
    'https://postmaster.orange.fr',
    'corpus:rhost-franceptt',
    'corpus:lhost-sendmail',
    'corpus:lhost-einsundeins',
  ],
  [
    {
      id: 'orange.ofr006-ip-spam',
      match: { provider: O, text: /OFR006_\d+|Client host blocked for spamming issues/i },
      category: 'ip_blocked',
      examples: [
        '550 mwinf5c04 ME Adresse IP source bloquee pour incident de spam. Client host blocked for spamming issues. OFR006_102 Ref http://csi.cloudmark.com/reset-request/?ip=10.0.0.1 [102]',
      ],
    },
    {
      id: 'orange.ofr005-too-many-connections',
      match: { provider: O, text: /Too many connections, slow down|OFR005_104/i },
      category: 'rate_limited',
      examples: [
        '421 mwinf5c63 ME Trop de connexions, veuillez verifier votre configuration. Too many connections, slow down. OFR005_104 [104]',
      ],
    },
    {
      // "Service refuse" with code 505, given at end of DATA: a fault on Orange's side
      // (Sisimai::Rhost::FrancePTT: systemerror), not a verdict on the sending IP.
      id: 'orange.505-service-refused',
      match: { provider: O, text: /Service refuse\. Veuillez essayer plus tard.*\b(?:OFR|LPN)\d*_505\b/i },
      category: 'remote_error',
      examples: [
        '421 4.2.0 Service refuse. Veuillez essayer plus tard. Service refused, please try later. OFR005_505 [505]',
      ],
    },
    {
      // "Service refuse. Veuillez essayer plus tard" otherwise (OFR_999, OFR006_103, LPN001_108,
      // LPN006_107, LPN005_510): Orange and La Poste refusing the sending IP on reputation,
      // usually in the greeting (Sisimai::Rhost::FrancePTT: blocked).
      id: 'orange.service-refused',
      match: { provider: O, text: /Service refuse\. Veuillez essayer plus tard/i },
      category: 'ip_blocked',
      examples: [
        '421 mwinf5c77 ME Service refuse. Veuillez essayer plus tard. Service refused, please try later. OFR_999 [999]',
        '550 5.5.0 Service refuse. Veuillez essayer plus tard. service refused, please try later. LPN001_108',
        '421 4.2.1 Service refuse. Veuillez essayer plus tard. Service refused, please try later. LPN006_107',
      ],
    },
    {
      // Orange sends 5.1.1 with a full mailbox: the text decides.
      id: 'orange.ofr417-mailbox-full',
      match: { provider: O, text: /OFR_417|Boite du destinataire pleine/i },
      category: 'mailbox_full',
      examples: ['552 5.1.1 Boite du destinataire pleine. Recipient overquota. OFR_417 [417]'],
    },
    {
      id: 'orange.ofr416-invalid-recipient',
      match: { provider: O, text: /OFR_416|destinataire invalide/i },
      category: 'recipient_unknown',
      examples: ['550 5.1.1 Adresse d au moins un destinataire invalide. Invalid recipient. OFR_416 [416]'],
    },
    {
      id: 'orange.ofr506-mail-rejected',
      match: { provider: O, text: /OFR_506|Mail rejete\. Mail rejected/i },
      category: 'spam_content',
      examples: ['550 5.2.0 Mail rejete. Mail rejected. OFR_506 [506]'],
    },
    {
      id: 'orange.lpn-account-blocked',
      match: { provider: O, text: /Le compte du destinataire est bloque/i },
      category: 'mailbox_disabled',
      examples: [
        '550 5.5.0 Le compte du destinataire est bloque. The recipient account is blocked. LPN007_426',
      ],
    },
  ],
);
