import { type VerpMac, verpAddress } from '../core/verp.js';

/**
 * The MAIL FROM of a delivery (docs/architecture.md, "The path of a message", step 6): the
 * VERP address `bounces+<token>@<subdomain>.<sending domain>`, whose token names the message
 * and the recipient, so a DSN (RFC 3464) sent to it is matched without trusting its content.
 * The subdomain (POSTHORN_RETURN_PATH_SUBDOMAIN, default `send`) has an MX record pointing
 * at the bounce intake (docs/operations.md).
 */
export function createReturnPath(deps: { readonly subdomain: string; readonly mac: VerpMac }) {
  return (messageId: string, recipientIndex: number, sendingDomain: string): string =>
    verpAddress(messageId, recipientIndex, `${deps.subdomain}.${sendingDomain}`, deps.mac);
}
