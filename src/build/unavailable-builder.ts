// A builder that cannot be set up (its cluster unreachable in the configuration, its store not
// S3) still answers: every rock fails as `infra` with the reason, so a train configured for it
// reports why instead of silently building somewhere else.
import { BuildFailure, type BuildArtifact, type Builder } from './builder.js';

export class UnavailableBuilder implements Builder {
  constructor(
    readonly name: string,
    private readonly reason: string,
  ) {}

  version(): Promise<string> {
    return Promise.resolve(`${this.name} (unavailable)`);
  }

  build(): Promise<BuildArtifact> {
    return Promise.reject(new BuildFailure('infra', `the ${this.name} builder is unavailable: ${this.reason}`));
  }
}
