import { describe, expect, it } from 'vitest';
import { backoffMs, describeFailure, isRetryable } from '../../../mirror/stores/s3-failure.js';

describe('reading a failed S3 attempt', () => {
  it('retries network errors, 5xx, 408/429 and throttling codes, never other 4xx', () => {
    expect(isRetryable(undefined, 'ECONNRESET')).toBe(true);
    expect(isRetryable(undefined, 'ETIMEDOUT')).toBe(true);
    expect(isRetryable(503, undefined)).toBe(true);
    expect(isRetryable(429, undefined)).toBe(true);
    expect(isRetryable(400, 'SlowDown')).toBe(true);
    expect(isRetryable(403, 'AccessDenied')).toBe(false);
    expect(isRetryable(412, 'PreconditionFailed')).toBe(false);
    expect(isRetryable(undefined, 'ENOTFOUND')).toBe(false);
  });

  it('backs off exponentially within [delay/2, delay], capped', () => {
    for (let i = 0; i < 20; i++) {
      const third = backoffMs(3, 100, 10_000);
      expect(third).toBeGreaterThanOrEqual(200);
      expect(third).toBeLessThanOrEqual(400);
      expect(backoffMs(20, 100, 1000)).toBeLessThanOrEqual(1000);
    }
  });

  it('says what happened in one line and masks the credentials', () => {
    expect(describeFailure(new Error('Retryable HTTP status'), 503, 'SlowDown', [])).toBe('HTTP 503 SlowDown');
    expect(describeFailure(new Error('x'), undefined, 'ECONNREFUSED', [])).toBe('connection refused (is the S3 service running?)');
    expect(describeFailure(new Error('signature for AKIAEXAMPLE with s3cr3t-key failed'), 403, 'SignatureDoesNotMatch', ['AKIAEXAMPLE', 's3cr3t-key', ''])).toBe(
      'HTTP 403 SignatureDoesNotMatch signature for *** with *** failed',
    );
  });
});
