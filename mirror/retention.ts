// Which builds of one train/release/series to keep: a pure decision, so it can be shown as a dry
// run, tested as a table and applied by lifecycle.ts without surprises. Protection always wins:
// the targets of latest and stable, live pins and builds reported in use are never dropped,
// whatever the policy says.
import { buildIdToDate } from './layout.js';

export interface RetentionPolicy {
  /** Drop builds started more than this many days ago (unless kept for another reason). */
  keepDays?: number;
  /** Always keep the newest this-many successful builds, however old. */
  keepMin?: number;
  /** Keep at most this many builds; the oldest unprotected ones go first. */
  keepMax?: number;
}

export interface RetentionBuild {
  buildId: string;
  result: 'success' | 'fail';
}

export interface RetentionPin {
  name: string;
  buildId: string;
  expiresAt?: string;
}

export interface RetentionInput {
  builds: readonly RetentionBuild[];
  policy: RetentionPolicy;
  now: Date;
  latest?: string;
  stable?: string;
  pins?: readonly RetentionPin[];
  /** Build ids whose images are attached somewhere (reported by the deployer). */
  inUse?: readonly string[];
}

export interface KeptBuild {
  buildId: string;
  reasons: string[];
}

export interface DroppedBuild {
  buildId: string;
  reason: string;
}

export interface RetentionDecision {
  /** Newest first. */
  keep: KeptBuild[];
  /** Newest first. */
  drop: DroppedBuild[];
}

export class RetentionPolicyError extends Error {
  constructor(message: string) {
    super(`invalid retention policy: ${message}`);
    this.name = 'RetentionPolicyError';
  }
}

export function validatePolicy(policy: RetentionPolicy): RetentionPolicy {
  for (const [name, value] of Object.entries(policy) as [string, number | undefined][]) {
    if (value !== undefined && (!Number.isFinite(value) || value < 0)) throw new RetentionPolicyError(`${name} must be a number ≥ 0`);
  }
  for (const name of ['keepMin', 'keepMax'] as const) {
    const value = policy[name];
    if (value !== undefined && !Number.isInteger(value)) throw new RetentionPolicyError(`${name} must be an integer`);
  }
  if (policy.keepMin !== undefined && policy.keepMax !== undefined && policy.keepMin > policy.keepMax) {
    throw new RetentionPolicyError(`keepMin (${policy.keepMin}) exceeds keepMax (${policy.keepMax})`);
  }
  return policy;
}

export function decideRetention(input: RetentionInput): RetentionDecision {
  const { policy, now } = input;
  validatePolicy(policy);
  const builds = [...input.builds].sort((a, b) => (a.buildId < b.buildId ? 1 : a.buildId > b.buildId ? -1 : 0));

  // Reasons that no policy can override.
  const protectedBy = new Map<string, string[]>();
  const protect = (id: string | undefined, reason: string) => {
    if (id) protectedBy.set(id, [...(protectedBy.get(id) ?? []), reason]);
  };
  protect(input.latest, 'latest');
  protect(input.stable, 'stable');
  for (const pin of input.pins ?? []) {
    if (pin.expiresAt === undefined || Date.parse(pin.expiresAt) > now.getTime()) protect(pin.buildId, `pin:${pin.name}`);
  }
  for (const id of input.inUse ?? []) protect(id, 'in use');

  const minKept = new Set(
    builds
      .filter((b) => b.result === 'success')
      .slice(0, policy.keepMin ?? 0)
      .map((b) => b.buildId),
  );
  const cutoff = policy.keepDays === undefined ? undefined : now.getTime() - policy.keepDays * 86_400_000;

  const keep: KeptBuild[] = [];
  const drop: DroppedBuild[] = [];
  for (const b of builds) {
    const reasons = [...(protectedBy.get(b.buildId) ?? [])];
    if (minKept.has(b.buildId)) reasons.push(`keepMin=${policy.keepMin ?? 0}`);
    if (cutoff === undefined) reasons.push('no age limit');
    else if (buildIdToDate(b.buildId).getTime() >= cutoff) reasons.push(`within keepDays=${policy.keepDays ?? 0}`);
    if (reasons.length > 0) keep.push({ buildId: b.buildId, reasons });
    else drop.push({ buildId: b.buildId, reason: `older than keepDays=${policy.keepDays ?? 0}` });
  }

  // keepMax trims the oldest builds that are kept only by age (never protected or keepMin ones).
  if (policy.keepMax !== undefined && keep.length > policy.keepMax) {
    let excess = keep.length - policy.keepMax;
    for (let i = keep.length - 1; i >= 0 && excess > 0; i--) {
      const k = keep[i];
      if (!k || protectedBy.has(k.buildId) || minKept.has(k.buildId)) continue;
      keep.splice(i, 1);
      drop.push({ buildId: k.buildId, reason: `beyond keepMax=${policy.keepMax}` });
      excess -= 1;
    }
  }
  drop.sort((a, b) => (a.buildId < b.buildId ? 1 : -1));
  return { keep, drop };
}
