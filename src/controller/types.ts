// The contract between the controller core (queue, scheduler, state) and what sits on top of it
// (the HTTP API, notifications, the charm). The core implements ControllerApi; everything else
// talks to it only through this interface.
import { z } from 'zod';

/** One build request, as POST /api/v1/builds takes it (a JSON list of these). */
export const buildRequestSchema = z
  .object({
    release: z.string().min(1).max(32),
    series: z.string().min(1).max(32).optional(),
    train: z.string().min(1).max(63).optional(),
    components: z.array(z.string().min(1).max(100)).max(100).optional(),
    rocks: z.array(z.string().min(1).max(100)).max(200).optional(),
    ppas: z.array(z.string().min(1).max(200)).max(20).optional(),
    packages: z.array(z.string().min(1).max(100)).max(100).optional(),
    pocket: z.enum(['updates', 'proposed']).optional(),
    suffix: z.string().min(1).max(32).optional(),
    force: z.boolean().optional(),
    /** Attach the result to the model when it succeeds. */
    attach: z.boolean().optional(),
    /** https URL that receives a signed POST when the job ends. */
    callback: z.string().max(2048).optional(),
  })
  .strict();

export type BuildRequestInput = z.infer<typeof buildRequestSchema>;

export const JOB_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted'] as const;
export type JobState = (typeof JOB_STATES)[number];
export type JobTrigger = 'api' | 'schedule' | 'cli' | 'charm' | 'change';

export interface RockProgress {
  rock: string;
  state: 'pending' | 'building' | 'built' | 'reused' | 'failed' | 'skipped';
  failureClass?: string;
  durationMs?: number;
}

export interface Job {
  id: string;
  /** The validated request, with the train and series filled in. */
  request: BuildRequestInput & { train: string; series: string };
  trigger: JobTrigger;
  state: JobState;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  rocks: RockProgress[];
  buildId?: string;
  result?: 'success' | 'fail';
  summary?: { built: string[]; reused: string[]; failed: Array<{ rock: string; failureClass: string }>; skipped: string[] };
  /** Why the job failed outside of its rocks (bad upstream, mirror down …). */
  error?: string;
}

export type JobEvent =
  | { type: 'job'; job: Job }
  | { type: 'rock'; jobId: string; rock: RockProgress }
  | { type: 'log'; jobId: string; rock: string; lines: string[] };

/** Everything that happens, for notifications, metrics and the audit log. */
export type ControllerEvent =
  | { type: 'build-finished'; job: Job }
  | { type: 'published'; train: string; release: string; series: string; buildId: string; result: 'success' | 'fail' }
  | { type: 'promoted'; ref: string; buildId: string }
  | { type: 'pinned'; ref: string; name: string; buildId: string; expiresAt?: string }
  | { type: 'unpinned'; ref: string; name: string }
  | { type: 'attached'; app: string; resource: string; ref: string; train: string; buildId: string }
  | { type: 'rolled-back'; app: string; resource: string; to: string; reason: string }
  | { type: 'restored'; app: string; resource: string; to: string }
  | { type: 'attach-requested'; ref: string; train: string; release: string; series: string; buildId: string }
  | { type: 'detached'; ref: string; restores: DetachResult['restores'] }
  | { type: 'rollback-requested'; ref: string; from: string; to: string }
  | { type: 'gc'; buildsDeleted: number; objectsDeleted: number; bytesFreed: number };

/** A build the model is to run, asked for through the API (POST /attachments, rollback). */
export interface AttachResult {
  ref: string;
  train: string;
  release: string;
  series: string;
  buildId: string;
}

export interface DetachResult {
  train: string;
  release: string;
  series: string;
  /** What the model runs once reconciled: the configuration's pin of the train, or the original images. */
  restores: 'configured-pin' | 'originals';
}

export interface RollbackResult {
  rolledBack: Array<{ train: string; release: string; series: string; from: string; to: string; apps: string[] }>;
}

export interface GcResult {
  dryRun: boolean;
  /** Per series the configured retention dropped (or would drop) builds of. */
  retention: Array<{ train: string; release: string; series: string; drop: Array<{ buildId: string; reason: string }>; deleted: string[] }>;
  gc: { objects: number; bytesFreed: number; referencedBlobs: number; protectedBlobs: number; builds: number };
}

export interface TrainStatus {
  name: string;
  release: string;
  series: string;
  schedule?: string;
  attach: boolean;
  pin: string;
  lastRun?: { at: string; jobId: string; state: JobState; result?: 'success' | 'fail' };
  nextRun?: string;
  latestBuild?: string;
}

export interface ControllerStatus {
  version: string;
  startedAt: string;
  leader: boolean;
  queue: { queued: number; running: number };
  trains: TrainStatus[];
  reconcile: { lastAt?: string; lastResult?: string; held: number; enabled: boolean };
  builder: { available: boolean; version?: string; error?: string };
  juju: { available: boolean; error?: string };
  mirror: { location: string };
}

export interface AuditEntry {
  at: string;
  /** Who asked: an API client name, `schedule`, `charm`, `cli`. */
  actor: string;
  action: string;
  target: string;
  detail?: Record<string, unknown>;
}

export interface ControllerApi {
  /** Validates every request first (all or nothing), then queues one job per request. */
  submit(requests: readonly unknown[], trigger: JobTrigger, actor: string): Promise<Job[]>;
  job(id: string): Job | undefined;
  jobs(filter?: { state?: JobState; train?: string; limit?: number }): Job[];
  /** Live events of one job; the listener first receives its current state. Returns unsubscribe. */
  subscribe(jobId: string, listener: (event: JobEvent) => void): () => void;
  cancel(jobId: string, actor: string): Promise<boolean>;
  trains(): TrainStatus[];
  status(): Promise<ControllerStatus>;
  /** One reconcile pass (plan only with dryRun); the result is JSON-serialisable. */
  reconcile(options: { dryRun?: boolean; force?: boolean }, actor: string): Promise<unknown>;
  promote(ref: string, actor: string): Promise<{ ref: string; buildId: string }>;
  pin(ref: string, name: string, options: { expiresAt?: string; note?: string }, actor: string): Promise<{ ref: string; buildId: string }>;
  unpin(seriesRef: string, name: string, actor: string): Promise<void>;
  /**
   * Runs a build in the model: recorded as the train's attachment (overriding the configuration's
   * pin for that train until detached) and put in place by a reconcile pass started now.
   */
  attach(ref: string, actor: string): Promise<AttachResult>;
  /** Stops attaching on request for `TRAIN/RELEASE/SERIES`; the pass started now restores what follows. */
  detach(seriesRef: string, actor: string): Promise<DetachResult>;
  /**
   * Re-attaches, for each train heliostat runs in the model (or only the one `app` runs), the
   * successful build published before the one running now, and holds it there until detached.
   */
  rollback(options: { app?: string }, actor: string): Promise<RollbackResult>;
  /** Applies the configured retention, then collects unreferenced blobs (report only with dryRun). */
  gc(options: { dryRun?: boolean }, actor: string): Promise<GcResult>;
  history(filter?: { limit?: number; action?: string }): AuditEntry[];
  /** Every controller event; returns unsubscribe. */
  onEvent(listener: (event: ControllerEvent) => void): () => void;
}

/** A named bearer token; compared in constant time, never logged. */
export interface NamedToken {
  name: string;
  token: string;
}

/**
 * Read access to the mirror: public unless clients are listed (Ark-style). Each client has a
 * bearer token or a basic-auth password hash (scrypt, `scrypt$<salt hex>$<hash hex>`).
 */
export interface MirrorReadAuth {
  public: boolean;
  clients: Array<{ name: string; token?: string; passwordHash?: string }>;
}

/** What the HTTP layer needs besides the controller; the controller config provides it. */
export interface HttpOptions {
  /** Tokens allowed to call write endpoints (POST/DELETE). */
  writeTokens: readonly NamedToken[];
  mirrorRead: MirrorReadAuth;
  /** Largest accepted request body. */
  bodyLimitBytes: number;
  /** Secret for signing callbacks and webhooks (HMAC-SHA256). */
  signingSecret?: string;
}
