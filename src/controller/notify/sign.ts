// Signatures of notification bodies: `X-Heliostat-Signature: sha256=<hex HMAC-SHA256 of the body>`,
// keyed with the controller's signing secret, so a receiver can tell heliostat's POSTs from forgeries.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-Heliostat-Signature';
export const EVENT_HEADER = 'X-Heliostat-Event';
export const DELIVERY_HEADER = 'X-Heliostat-Delivery';

export function signBody(body: string | Uint8Array, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** For receivers (and tests): whether a signature header matches the body, in constant time. */
export function verifySignature(body: string | Uint8Array, header: string | undefined, secret: string): boolean {
  if (header === undefined) return false;
  const expected = Buffer.from(signBody(body, secret));
  const given = Buffer.from(header);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
