// Which URLs heliostat will POST notifications to. Callback URLs come from API clients, so the
// rules are strict: https only (plain http only to the loopback interface, and only when the
// operator allows it, which tests do), no credentials in the URL, nothing but a host to talk to.
import { isIP } from 'node:net';

export interface TargetUrlPolicy {
  /** Accept `http:` when the host is the loopback interface (tests, a local relay). */
  allowLoopbackHttp?: boolean;
}

export type TargetUrlCheck = { ok: true; url: URL } | { ok: false; reason: string };

const MAX_URL_LENGTH = 2048;

function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1';
  return false;
}

/** Validates a notification target; the reason names what is wrong without echoing secrets. */
export function checkTargetUrl(text: string, policy: TargetUrlPolicy = {}): TargetUrlCheck {
  if (text.length > MAX_URL_LENGTH) return { ok: false, reason: `is longer than ${MAX_URL_LENGTH} characters` };
  // Whitespace and control characters are silently dropped or re-encoded by the URL parser; a
  // URL that needs that is not one an honest client sends.
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(text)) return { ok: false, reason: 'must not contain whitespace or control characters' };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, reason: 'is not an absolute URL' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return { ok: false, reason: `must use https (got ${url.protocol.replace(/:$/, '')})` };
  }
  if (url.username !== '' || url.password !== '') return { ok: false, reason: 'must not contain credentials' };
  if (url.hostname === '') return { ok: false, reason: 'has no host' };
  if (url.protocol === 'http:') {
    if (!policy.allowLoopbackHttp) return { ok: false, reason: 'must use https' };
    if (!isLoopback(url.hostname)) return { ok: false, reason: 'may use plain http only to the loopback interface' };
  }
  return { ok: true, url };
}

/**
 * What a log or an API view may show of a target: scheme, host and port. Paths and queries of
 * webhook URLs often carry the receiver's secret (chat webhooks do), so they are never shown.
 */
export function describeTarget(text: string): string {
  try {
    const url = new URL(text);
    return `${url.protocol}//${url.host}/…`;
  } catch {
    return '(invalid URL)';
  }
}

/** Removes `user:password@` from every URL inside a message (git and fetch errors quote URLs). */
export function redactCredentials(message: string): string {
  return message.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/\s@]*@/gi, '$1***@');
}
