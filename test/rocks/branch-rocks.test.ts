import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getRelease } from '../../src/catalog/releases.js';
import { loadBranchRocks } from '../../src/rocks/branch-rocks.js';
import { patchRockcraft } from '../../src/rocks/patches.js';
import { UpstreamRocksRepo } from '../../src/rocks/upstream.js';
import { commitToBranch, createRocksRepo, fixtureFiles, type RocksRepo } from '../fixtures/rocks-repo.js';

let tmp: string;
let origin: RocksRepo;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'branch-rocks-'));
  origin = await createRocksRepo(path.join(tmp, 'origin'));
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('loadBranchRocks', () => {
  const caracal = getRelease('caracal');

  it('parses a commit once and hands later loads the same documents', async () => {
    const repo = new UpstreamRocksRepo({ url: origin.url, cacheDir: path.join(tmp, 'cache-a') });
    const first = await loadBranchRocks(repo, caracal);
    const second = await loadBranchRocks(repo, caracal);
    expect(second.commit).toBe(first.commit);
    expect(second.rocks.map((r) => r.name)).toEqual(first.rocks.map((r) => r.name));
    expect(second.rocks[0]?.document).toBe(first.rocks[0]?.document);
    // The lists are the caller's own: filtering one never changes the next load.
    second.rocks.splice(0);
    expect((await loadBranchRocks(repo, caracal)).rocks.length).toBe(first.rocks.length);
  });

  it('leaves the shared documents untouched by patches', async () => {
    const repo = new UpstreamRocksRepo({ url: origin.url, cacheDir: path.join(tmp, 'cache-b') });
    const set = await loadBranchRocks(repo, caracal);
    const rock = set.rocks.find((r) => r.document)!;
    const before = rock.document!.toString();
    patchRockcraft(rock.document!, rock.name, set.branch, { release: caracal, pocket: 'proposed', ppas: [{ owner: 'team', name: 'fix' }], packages: [] });
    expect((await loadBranchRocks(repo, caracal)).rocks.find((r) => r.name === rock.name)!.document!.toString()).toBe(before);
  });

  it('reads a new commit of the branch afresh', async () => {
    const repo = new UpstreamRocksRepo({ url: origin.url, cacheDir: path.join(tmp, 'cache-c') });
    const before = await loadBranchRocks(repo, caracal);
    const name = before.rocks[0]!.name;
    const file = `rocks/${name}/rockcraft.yaml`;
    const text = fixtureFiles('stable/2024.1')[file]!;
    await commitToBranch(origin.dir, 'stable/2024.1', { [file]: `${text}# a new upstream comment\n` }, 'touch one rock');
    const after = await loadBranchRocks(repo, caracal);
    expect(after.commit).not.toBe(before.commit);
    expect(after.rocks[0]!.text).toContain('# a new upstream comment');
    expect(after.rocks[0]!.document).not.toBe(before.rocks[0]!.document);
  });
});
