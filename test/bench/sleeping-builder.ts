// A bench stand-in for rockcraft: a Builder that takes a fixed time per rock and does no work, so
// that what a benchmark measures around it is the scheduling (queue, job runner, build runner),
// not packing. It writes a small rock file and a log like a real builder, and records when each
// build held a slot, so the benchmark can compute slot utilisation and the peak concurrency.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BuildFailure, type BuildArtifact, type BuildJob, type Builder } from '../../src/build/builder.js';

export interface BuildInterval {
  rock: string;
  /** performance.now() readings. */
  start: number;
  end: number;
}

export class SleepingBuilder implements Builder {
  readonly name = 'sleeping';
  readonly intervals: BuildInterval[] = [];
  #active = 0;
  #peak = 0;

  constructor(readonly sleepMs: number) {}

  /** The most builds that ever ran at once. */
  get peak(): number {
    return this.#peak;
  }

  version(): Promise<string> {
    return Promise.resolve(`sleeping-${this.sleepMs}ms`);
  }

  /** Forgets what was recorded (between a warm-up and a measured run). */
  reset(): void {
    this.intervals.length = 0;
    this.#peak = this.#active;
  }

  async build(job: BuildJob): Promise<BuildArtifact> {
    await mkdir(dirname(job.logFile), { recursive: true });
    await writeFile(job.logFile, `sleeping ${this.sleepMs} ms for ${job.rock}\n`);
    const start = performance.now();
    this.#active += 1;
    this.#peak = Math.max(this.#peak, this.#active);
    try {
      await sleep(this.sleepMs, undefined, job.signal ? { signal: job.signal } : {});
    } catch (error) {
      if (job.signal?.aborted) throw new BuildFailure('cancelled', 'cancelled');
      throw error;
    } finally {
      this.#active -= 1;
    }
    const end = performance.now();
    this.intervals.push({ rock: job.rock, start, end });
    const rockFile = join(job.outputDir, `${job.rock}.rock`);
    await mkdir(job.outputDir, { recursive: true });
    await writeFile(rockFile, `${job.rock} ${start}\n`);
    return { rockFile, durationMs: end - start };
  }
}
