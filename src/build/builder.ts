// The builder interface: how one rock becomes a .rock file. Two adapters implement it: the local
// rockcraft runner and the Kubernetes Job builder; the runner treats both the same.

/** `image-pull` and `oom` come from the Kubernetes builder (the pod's image, its memory limit). */
export const FAILURE_CLASSES = ['config', 'build', 'timeout', 'infra', 'cancelled', 'image-pull', 'oom'] as const;
export type FailureClass = (typeof FAILURE_CLASSES)[number];

export interface BuildJob {
  /** Folder name of the rock. */
  rock: string;
  /** Files of the build directory: rockcraft.yaml and any workaround inputs. */
  files: Readonly<Record<string, string>>;
  /** Where the builder writes the rock's log (created or truncated). */
  logFile: string;
  /** Directory that receives the .rock file. */
  outputDir: string;
  timeoutMs: number;
  /**
   * Aborts the build. With reason SHUTDOWN_REASON the controller is stopping: a builder whose work
   * runs elsewhere leaves it running (to re-attach after the restart) instead of deleting it.
   */
  signal?: AbortSignal;
  /** The build (job) this rock belongs to; recorded on remote work so it can be traced. */
  buildId?: string;
  /** The rock's build key: identical work, so a remote builder may re-attach to it. */
  key?: string;
}

/** The abort reason of a controller shutdown (see BuildJob.signal). */
export const SHUTDOWN_REASON = 'shutdown';

export interface BuildArtifact {
  /** Absolute path of the .rock (OCI archive). */
  rockFile: string;
  durationMs: number;
}

export class BuildFailure extends Error {
  constructor(
    readonly failureClass: FailureClass,
    message: string,
  ) {
    super(message);
    this.name = 'BuildFailure';
  }
}

export interface Builder {
  readonly name: string;
  /** Rocks this builder runs at once; when set, the runner uses it instead of its own bound. */
  readonly concurrency?: number;
  /** The builder's version string, part of every build key. */
  version(): Promise<string>;
  /** Builds one rock; rejects with BuildFailure carrying its class. */
  build(job: BuildJob): Promise<BuildArtifact>;
}
