// `heliostat registry push REF`: pushes the rocks of a published build to a registry (another
// registry than the build's own, or one the build was not pushed to), by digest, then tags.
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { blobKey } from '../../../mirror/layout.js';
import { resolveRef, showBuild } from '../../../mirror/query.js';
import { tagSeries } from '../../registry/config.js';
import { pushBuild } from '../../registry/publish.js';
import { UsageError } from '../../errors.js';
import { registryOptions, registryTarget } from '../deploy-context.js';
import type { CliEnv } from '../env.js';
import { printJson, renderTable } from '../output.js';
import type { GlobalFlags } from '../settings.js';
import { storeOptions, withStore } from './mirror-common.js';

export function registerRegistry(program: Command, env: CliEnv): void {
  const registry = program.command('registry').description('push builds to an OCI registry');
  const push = registry
    .command('push')
    .description('push every rock of a published build by digest, then its dated and latest tags')
    .argument('<ref>', 'TRAIN/RELEASE/SERIES/(latest|stable|BUILD-ID|pin:NAME|as-of:TIME)');
  storeOptions(registryOptions(push)).action(async (ref: string, flags: GlobalFlags & { registry?: string; registryInsecure?: boolean; json?: boolean }, cmd: Command) => {
    if (!flags.registry) throw new UsageError('--registry is required');
    const target = registryTarget(flags.registry, flags.registryInsecure ?? false, env.env);
    await withStore(env, cmd, async (store) => {
      const resolved = await resolveRef(store, ref);
      const record = await showBuild(store, resolved, resolved.buildId);
      const dir = await mkdtemp(join(tmpdir(), 'heliostat-push-'));
      try {
        const rocks = [];
        for (const rock of record.rocks.filter((r) => r.outcome === 'built' || r.outcome === 'reused')) {
          const path = Object.keys(record.files).find((p) => p.startsWith(`rocks/${rock.name}_`));
          const entry = path ? record.files[path] : undefined;
          if (!path || !entry) throw new Error(`build ${record.buildId} has no .rock for ${rock.name}`);
          const file = join(dir, path.slice('rocks/'.length));
          await pipeline(await store.getStream(blobKey(entry.digest)), createWriteStream(file));
          rocks.push({ rock: rock.name, imageName: rock.imageName, rockFile: file });
        }
        const series = tagSeries(record.release, record.series);
        const images = await pushBuild({ rocks, release: record.release, train: record.train, buildId: record.buildId, ...(series ? { series } : {}) }, target);
        const out = env.output(flags.json);
        if (out.json) printJson(out, images);
        else out.stdout.write(renderTable(images, [
          { header: 'rock', value: (i) => i.rock },
          { header: 'ref', value: (i) => i.ref },
          { header: 'tags', value: (i) => i.tags.join(' ') },
        ]));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
}
