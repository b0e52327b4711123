// Every rock of every branch, patched the way an operator would (a PPA and a suffix), must still
// be a valid rockcraft.yaml that keeps every comment, has a string version ending in the suffix,
// and carries the cloud entry its release and series call for.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { RELEASES, getSeries } from '../../src/catalog/releases.js';
import { loadBranchRocks } from '../../src/rocks/branch-rocks.js';
import { branchRelease, patchRockcraft, placeRock } from '../../src/rocks/patches.js';
import { RockcraftDocument } from '../../src/rocks/rockcraft.js';
import { UpstreamRocksRepo } from '../../src/rocks/upstream.js';
import { createRocksRepo } from '../fixtures/rocks-repo.js';

let root: string;
let upstream: UpstreamRocksRepo;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'heliostat-patch-all-'));
  const repo = await createRocksRepo(join(root, 'upstream'));
  upstream = new UpstreamRocksRepo({ url: repo.url, cacheDir: join(root, 'cache') });
});
afterAll(async () => rm(root, { recursive: true, force: true }));

const commentLines = (text: string) => text.split('\n').filter((line) => /^\s*#/.test(line));

type Repo = { cloud?: string; ppa?: string; pocket?: string };

describe.each(RELEASES.map((r) => [r.codename, r] as const))('every rock of %s', (_name, release) => {
  it('patches with --ppa ppa:a/b --suffix t into a valid, comment-preserving yaml', async () => {
    const set = await loadBranchRocks(upstream, release);
    expect(set.rocks.length).toBeGreaterThan(40);
    for (const rock of set.rocks) {
      expect(rock.error, rock.name).toBeUndefined();
      const upstreamDoc = rock.document as RockcraftDocument;
      const out = patchRockcraft(upstreamDoc, rock.name, set.branch, { release, ppas: [{ owner: 'a', name: 'b' }], suffix: 't' });
      const reparsed = RockcraftDocument.parse(out.yaml, rock.name);
      const data = parse(out.yaml) as { version: unknown; 'package-repositories'?: Repo[] };
      expect(typeof data.version, rock.name).toBe('string');
      expect(String(data.version).endsWith('-t'), rock.name).toBe(true);
      for (const line of commentLines(rock.text)) expect(out.yaml, `${rock.name}: ${line}`).toContain(line);
      const repos = data['package-repositories'] ?? [];
      expect(repos.filter((r) => r.ppa === 'a/b'), rock.name).toHaveLength(1);
      // The cloud entry the release calls for on the rock's series; clouds upstream pins to another
      // release on purpose (manila on caracal) are kept.
      const placement = placeRock(upstreamDoc, { release }, branchRelease(set.branch));
      const upstreamClouds = upstreamDoc.repositories.flatMap((r) => (r.cloud ? [r.cloud] : []));
      const owned = (c: string) => placement.releaseBound && (c === release.codename || c === branchRelease(set.branch).codename);
      const pinned = upstreamClouds.filter((c) => !owned(c));
      const expected = placement.cloud === null ? pinned : [placement.cloud, ...pinned];
      expect(repos.flatMap((r) => (r.cloud ? [r.cloud] : [])).sort(), rock.name).toEqual([...new Set(expected)].sort());
      expect(reparsed.overlayPackages, rock.name).toEqual(upstreamDoc.overlayPackages);
    }
  });
});

describe('caracal on noble', () => {
  it('has no cloud entry on any rock upstream builds from caracal itself', async () => {
    const caracal = RELEASES.find((r) => r.codename === 'caracal');
    if (!caracal) throw new Error('caracal missing');
    const set = await loadBranchRocks(upstream, caracal);
    for (const rock of set.rocks) {
      const out = patchRockcraft(rock.document as RockcraftDocument, rock.name, set.branch, { release: caracal, series: getSeries('noble'), ppas: [{ owner: 'a', name: 'b' }], suffix: 't' });
      const clouds = (parse(out.yaml) as { 'package-repositories'?: Repo[] })['package-repositories']?.flatMap((r) => (r.cloud ? [r.cloud] : [])) ?? [];
      expect(clouds.includes('caracal'), rock.name).toBe(false);
    }
  });
});
