// The builder interface: how one rock becomes a .rock file. The local rockcraft adapter implements
// it today; a Kubernetes Job builder can sit beside it behind the same contract.

export const FAILURE_CLASSES = ['config', 'build', 'timeout', 'infra', 'cancelled'] as const;
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
  signal?: AbortSignal;
}

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
  /** The builder's version string, part of every build key. */
  version(): Promise<string>;
  /** Builds one rock; rejects with BuildFailure carrying its class. */
  build(job: BuildJob): Promise<BuildArtifact>;
}
