// What the consumer stories add to the world (world.ts): the controller configuration with the
// story's mirror bucket on RGW and the world's registry, a smaller upstream, and the upstream
// changes that make the next scheduled build differ.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { stringify } from 'yaml';
import type { ControllerConfigInput } from '../../../src/controller/config-schema.js';
import { configDoc } from '../../controller/harness.js';
import { registryAvailability } from '../../fixtures/registry.js';
import { commitToBranch, fixtureFiles, type FixtureBranch } from '../../fixtures/rocks-repo.js';
import type { RgwConnection } from '../../setup/rgw.js';
import type { World } from './world.js';

export const REGISTRY_NAMESPACE = 'heliostat';

/** Why a story cannot run here, or undefined when it can. */
export function storySkipReason(rgw: RgwConnection | undefined, rgwSkipReason: string): string | undefined {
  const registry = registryAvailability();
  if (!registry.available) return registry.reason;
  return rgw ? undefined : rgwSkipReason;
}

/**
 * Writes the controller configuration: the fixtures' defaults, the world's registry and a mirror
 * in the world's RGW bucket, then `extra`. Rewriting it (same name) is what a reload reads.
 */
export async function writeStoryConfig(world: World, extra: ControllerConfigInput, name = 'heliostat'): Promise<string> {
  const rgw = world.rgw;
  if (!rgw) throw new Error('the story world needs the RGW');
  const { endpoint, region, accessKey, secretKey } = rgw.connection;
  const path = join(world.fixtures.root, `${name}.yaml`);
  const doc = configDoc(world.fixtures, {
    mirror: { store: `s3://${rgw.bucket}/mirror`, s3: { endpoint, region, accessKey, secretKey, pathStyle: true } },
    registry: { host: world.registry.host, namespace: REGISTRY_NAMESPACE, tlsVerify: false, retries: 1 },
    ...extra,
  });
  await writeFile(path, stringify(doc));
  return path;
}

/** The environment of a controller process on the world. */
export function controllerEnv(world: World): NodeJS.ProcessEnv {
  return { ...world.env, HOME: world.fixtures.root };
}

/** Files that remove every rock of the branch but `keep` (so a whole-release train stays small). */
export function withOnlyRocks(branch: FixtureBranch, keep: readonly string[]): Record<string, string | null> {
  const files: Record<string, string | null> = {};
  for (const [path, content] of Object.entries(fixtureFiles(branch))) {
    const rock = /^rocks\/([^/]+)\//.exec(path)?.[1];
    files[path] = rock === undefined || keep.includes(rock) ? content : null;
  }
  return files;
}

/** An upstream commit that changes each rock's rockcraft.yaml (its description), so each is rebuilt with new bytes. */
export async function reviseRocks(repoDir: string, branch: string, rocks: readonly string[], revision: string): Promise<string> {
  const files: Record<string, string> = {};
  for (const rock of rocks) {
    const path = `rocks/${rock}/rockcraft.yaml`;
    const { stdout } = await execa('git', ['-C', repoDir, 'show', `${branch}:${path}`], { stripFinalNewline: false });
    if (!stdout.includes('description: |\n')) throw new Error(`${path} on ${branch} has no block description`);
    files[path] = stdout.replace('description: |\n', `description: |\n  Revision ${revision}.\n`);
  }
  return commitToBranch(repoDir, branch, files, `Revise ${rocks.join(', ')} (${revision})`);
}
