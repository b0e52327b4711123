// Deterministic build outputs for the publish benchmarks: incompressible rock files (an AES-CTR
// key stream seeded by the rock's name, so every run writes the same bytes), logs and
// rockcraft.yaml files, and the build metadata that goes with them.
import { createCipheriv, createHash } from 'node:crypto';
import { mkdir, open, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { buildIdFromDate } from '../../mirror/layout.js';
import type { BuildMetadata, StagedFile } from '../../mirror/publish.js';
import { MiB } from './common.js';

export function sha256(text: string | Buffer): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** Writes `size` pseudo-random bytes derived from `seed` to `path`, 4 MiB at a time. */
export async function writeRandomFile(path: string, seed: string, size: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(4 * MiB);
  const file = await open(path, 'w');
  try {
    for (let done = 0; done < size; ) {
      const n = Math.min(zeros.length, size - done);
      await file.write(cipher.update(zeros.subarray(0, n)));
      done += n;
    }
  } finally {
    await file.close();
  }
}

export interface ShapeOptions {
  rocks: number;
  rockBytes: number;
  logBytes: number;
  /** Seed prefix: the same seed gives the same bytes. */
  seed: string;
}

export interface StagedShape {
  files: StagedFile[];
  rockNames: string[];
  totalBytes: number;
}

/** Writes the outputs of one build under `dir`: rocks/, logs/ and rockcraft/ as a build stages them. */
export async function writeBuildShape(dir: string, options: ShapeOptions): Promise<StagedShape> {
  const files: StagedFile[] = [];
  const rockNames: string[] = [];
  let totalBytes = 0;
  for (let i = 0; i < options.rocks; i++) {
    const name = `rock-${String(i).padStart(2, '0')}`;
    rockNames.push(name);
    const rockPath = join(dir, 'rocks', `${name}_2026.1_amd64.rock`);
    await writeRandomFile(rockPath, `${options.seed}/${name}/rock`, options.rockBytes);
    const log = Array.from({ length: Math.ceil(options.logBytes / 64) }, (_, n) => `${name} step ${String(n).padStart(6, '0')}: packing layer ok........\n`)
      .join('')
      .slice(0, options.logBytes);
    const logPath = join(dir, 'logs', `${name}.log`);
    await mkdir(dirname(logPath), { recursive: true });
    await writeFile(logPath, log);
    const yaml = Buffer.from(
      `name: ${name}\nbase: ubuntu@24.04\nversion: '2026.1'\nplatforms:\n  amd64:\npackage-repositories:\n  - type: apt\n    cloud: gazpacho\n    priority: always\nparts:\n  ${name}:\n    plugin: nil\n    overlay-packages: [sudo, ${name}]\n`,
    );
    files.push(
      { path: `rocks/${name}_2026.1_amd64.rock`, source: rockPath },
      { path: `logs/${name}.log`, source: logPath },
      { path: `rockcraft/${name}/rockcraft.yaml`, source: yaml },
    );
    totalBytes += options.rockBytes + Buffer.byteLength(log) + yaml.length;
  }
  return { files, rockNames, totalBytes };
}

/** Metadata of a successful build of the given rocks, started at `started`. */
export function buildMetadata(started: Date, rockNames: readonly string[], ts = { train: 'reference', release: '2026.1', series: 'noble' }): BuildMetadata {
  const buildId = buildIdFromDate(started);
  return {
    ...ts,
    buildId,
    result: 'success',
    startedAt: started.toISOString(),
    finishedAt: new Date(started.getTime() + 40 * 60_000).toISOString(),
    context: {
      upstream: { repo: 'https://github.com/canonical/ubuntu-openstack-rocks', commit: 'd44ac1e56297162c73daee78c845d36f7eff9332' },
      branch: 'main',
      patches: [],
      ppas: [],
      pocket: 'updates',
      packages: Object.fromEntries(rockNames.map((n) => [n, '2:26.0.0-0ubuntu1'])),
      builderVersion: 'rockcraft 1.13.0',
      arch: 'amd64',
    },
    rocks: rockNames.map((name) => ({
      name,
      imageName: name,
      version: '2026.1',
      arch: 'amd64',
      outcome: 'built' as const,
      buildKey: sha256(`key/${name}`),
    })),
  };
}
