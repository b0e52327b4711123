// The reconcile diff, pure: what the operator declared (desired attachments), what runs (digests
// per container from the pods), and what heliostat did before (attachment records) in; the
// actions to take out. Nothing to do is an empty list, so an unchanged model costs no write.

export interface DesiredAttachment {
  app: string;
  charm: string;
  resource: string;
  /** Workload containers that run this resource's image. */
  containers: readonly string[];
  rock: string;
  /** `<registry>/<namespace>/<name>@sha256:…`: always by digest. */
  ref: string;
  digest: string;
  train: string;
  buildId: string;
}

/** What one application's pods run: container → digests seen (several while rolling). */
export interface ObservedApp {
  app: string;
  containers: ReadonlyMap<string, { digests: ReadonlySet<string>; image?: string }>;
}

export interface ImageAt {
  /** Image reference by digest. */
  ref: string;
  digest: string;
}

/** heliostat's memory of one application resource. */
export interface AttachmentRecord {
  app: string;
  resource: string;
  containers: readonly string[];
  /** What ran before heliostat first attached anything. */
  original: ImageAt;
  /** heliostat's last attachment, absent once the original is restored. */
  current?: ImageAt & { train: string; buildId: string; rock: string; at: string };
  /** A digest whose rollout failed and was rolled back: not retried without --force. */
  failed?: { digest: string; at: string; why: string };
}

export type ReconcileAction =
  | { kind: 'attach'; app: string; resource: string; containers: readonly string[]; to: ImageAt; replaces: ImageAt; original: ImageAt; desired: DesiredAttachment; why: string }
  | { kind: 'restore'; app: string; resource: string; containers: readonly string[]; to: ImageAt; replaces: ImageAt; why: string }
  | { kind: 'verify'; app: string; resource: string; containers: readonly string[]; digest: string; why: string }
  | { kind: 'hold'; app: string; resource: string; running: string[]; why: string };

export interface ReconcileInput {
  desired: readonly DesiredAttachment[];
  observed: ReadonlyMap<string, ObservedApp>;
  records: readonly AttachmentRecord[];
  force?: boolean;
}

const key = (app: string, resource: string) => `${app}\u0000${resource}`;

/** The digests the resource's containers run now; empty when the app has no pods yet. */
function runningDigests(observed: ObservedApp | undefined, containers: readonly string[]): string[] {
  const digests = new Set<string>();
  // No container map (the 2023.2 charms): every workload container of the app counts.
  const names = containers.length > 0 ? containers : [...(observed?.containers.keys() ?? [])];
  for (const name of names) for (const d of observed?.containers.get(name)?.digests ?? []) digests.add(d);
  return [...digests].sort();
}

/** The image the resource's containers run, as a ref by digest (the first container's image repo). */
function runningImage(observed: ObservedApp | undefined, containers: readonly string[], digest: string): ImageAt {
  const image = containers.map((c) => observed?.containers.get(c)?.image).find(Boolean) ?? '';
  const repo = image.replace(/@sha256:[0-9a-f]+$/, '').replace(/:[^/:]+$/, '');
  return { ref: `${repo}@${digest}`, digest };
}

export function planReconcile(input: ReconcileInput): ReconcileAction[] {
  const actions: ReconcileAction[] = [];
  const records = new Map(input.records.map((r) => [key(r.app, r.resource), r]));
  const wanted = new Map<string, DesiredAttachment>();
  for (const d of input.desired) {
    const k = key(d.app, d.resource);
    const other = wanted.get(k);
    if (other && other.digest !== d.digest) {
      actions.push({ kind: 'hold', app: d.app, resource: d.resource, running: [], why: `trains ${other.train} and ${d.train} both want ${d.app}/${d.resource}` });
      wanted.delete(k);
      continue;
    }
    wanted.set(k, d);
  }

  for (const [k, d] of wanted) {
    const record = records.get(k);
    const observed = input.observed.get(d.app);
    const running = runningDigests(observed, d.containers);
    if (running.length === 0) {
      actions.push({ kind: 'hold', app: d.app, resource: d.resource, running, why: `no running pod of ${d.app} uses ${d.resource}; cannot tell what it runs` });
      continue;
    }
    if (running.every((r) => r === d.digest)) continue;
    if (record?.failed?.digest === d.digest && !input.force) {
      actions.push({ kind: 'hold', app: d.app, resource: d.resource, running, why: `rollout of ${d.digest} failed at ${record.failed.at} (${record.failed.why}) and was rolled back (use --force to retry)` });
      continue;
    }
    const known = new Set([record?.current?.digest, record?.original.digest, d.digest].filter((x): x is string => Boolean(x)));
    const unknown = running.filter((r) => !known.has(r));
    if (record && unknown.length > 0 && !input.force) {
      actions.push({ kind: 'hold', app: d.app, resource: d.resource, running, why: `runs ${unknown.join(', ')}, which is neither heliostat's last attachment nor the original: changed by hand (use --force to override)` });
      continue;
    }
    if (record?.current?.digest === d.digest && unknown.length === 0) {
      actions.push({ kind: 'verify', app: d.app, resource: d.resource, containers: d.containers, digest: d.digest, why: 'attached earlier; pods not yet all on it' });
      continue;
    }
    const replaces = record?.current ?? runningImage(observed, d.containers, running[0] ?? '');
    const original = record?.original ?? replaces;
    actions.push({
      kind: 'attach',
      app: d.app,
      resource: d.resource,
      containers: d.containers,
      to: { ref: d.ref, digest: d.digest },
      replaces: { ref: replaces.ref, digest: replaces.digest },
      original,
      desired: d,
      why: `${d.train} build ${d.buildId} (${d.rock})`,
    });
  }

  // Resources heliostat changed that no train wants any more go back to what they ran before.
  for (const record of input.records) {
    if (!record.current || wanted.has(key(record.app, record.resource))) continue;
    if (input.desired.some((d) => d.app === record.app && d.resource === record.resource)) continue;
    const running = runningDigests(input.observed.get(record.app), record.containers);
    const handMade = running.some((r) => r !== record.current?.digest && r !== record.original.digest);
    if (handMade && !input.force) {
      actions.push({ kind: 'hold', app: record.app, resource: record.resource, running, why: `changed by hand since heliostat attached it; not restoring (use --force)` });
      continue;
    }
    actions.push({
      kind: 'restore',
      app: record.app,
      resource: record.resource,
      containers: record.containers,
      to: record.original,
      replaces: { ref: record.current.ref, digest: record.current.digest },
      why: 'no train asks for it any more',
    });
  }
  return actions;
}
