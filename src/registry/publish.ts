// Publishing a build's rocks to the registry. The order is what makes a build atomic for anyone
// pulling by tag: every rock is pushed by digest (untagged, invisible to tag consumers) and its
// stored digest verified; only when all of them are in do the tags go on — first the immutable
// `<release>-<train>-<build-id>` on every rock, then `-latest` (and `-stable` on promotion). Tags
// move by pushing the manifest again: distribution 2.8 cannot delete one tag (deleting by tag
// deletes the manifest and every tag on it), so nothing here ever deletes.
import { readOciArchive } from '../build/oci-archive.js';
import { buildTag, isMovingTag, movingTag, repositoryFor, validateDigest, validateRepository, type RegistryTarget } from './config.js';
import { RegistryError } from './errors.js';
import { Skopeo, type CallOptions, type ImageRef } from './skopeo.js';

export interface RockToPush {
  /** The rock's folder in the rocks repository. */
  rock: string;
  /** The rockcraft.yaml `name:`, which can differ from the folder; the repository is named after it. */
  imageName: string;
  /** The `.rock` (OCI archive) `rockcraft pack` produced. */
  rockFile?: string;
  /**
   * For a rock reused from an earlier build: the digest already in the registry. Nothing is
   * pushed; its presence is checked and it gets this build's tags.
   */
  digest?: string;
}

export interface PushBuildInput {
  rocks: readonly RockToPush[];
  release: string;
  train: string;
  buildId: string;
  /** The series the tags name (see tagSeries): absent for the release's default series. */
  series?: string;
  /** Also move `<release>-<train>-stable` to this build. */
  promote?: boolean;
}

/** One pushed image, as recorded in `images.json` and `build.json`. */
export interface ImageRecord {
  rock: string;
  imageName: string;
  /** `host/namespace/imageName` */
  repository: string;
  digest: string;
  tags: string[];
  /** `repository@digest`: what gets attached; never a moving tag. */
  ref: string;
}

export type PublishEvent =
  | { type: 'pushed'; rock: string; ref: string }
  | { type: 'tagged'; rock: string; tag: string; digest: string };

export interface PublishOptions extends CallOptions {
  /** The adapter to use; by default one over `skopeo` from PATH for the target. */
  skopeo?: Skopeo;
  /** Rocks pushed at the same time. */
  concurrency?: number;
  onEvent?: (event: PublishEvent) => void;
}

/** read: archives; push: by digest + verify; check: immutable tags; tag: tags being pushed. */
export type PublishStage = 'read' | 'push' | 'check' | 'tag';

export interface RockFailure {
  rock: string;
  imageName: string;
  error: Error;
}

/** A push that did not complete. `pushed` lists the images that are in the registry by digest. */
export class PublishError extends Error {
  override readonly name = 'PublishError';
  constructor(
    readonly stage: PublishStage,
    readonly failures: readonly RockFailure[],
    readonly pushed: readonly ImageRecord[],
    what: string,
    /** Rocks not tried at that stage because another had already failed. */
    readonly notAttempted: readonly string[] = [],
  ) {
    const list = failures.map((f) => `rock ${f.rock} (image ${f.imageName}): ${f.error.message}`).join('; ');
    const tags = stage === 'tag' ? 'some tags may have been pushed before the failure' : 'no tags were pushed';
    const rest = notAttempted.length > 0 ? `; not attempted: ${notAttempted.join(', ')}` : '';
    super(`registry publish of ${what} failed at ${stage}; ${tags}: ${list}${rest}`);
  }
}

/** The tags a build gets, in the order they are pushed. */
export function tagsForBuild(release: string, train: string, buildId: string, promote = false, series?: string): string[] {
  const tags = [buildTag(release, train, buildId, series), movingTag(release, train, 'latest', series)];
  if (promote) tags.push(movingTag(release, train, 'stable', series));
  return tags;
}

interface Planned extends RockToPush {
  repository: string;
}

/** Checks every name before anything runs; returns the rocks with their repositories. */
function plan(rocks: readonly RockToPush[], target: RegistryTarget): Planned[] {
  const seenRocks = new Set<string>();
  const seenImages = new Set<string>();
  return rocks.map((r) => {
    if (r.rock.trim() === '') throw new RegistryError('invalid', 'a rock without a name was given to push');
    if (seenRocks.has(r.rock)) throw new RegistryError('invalid', `rock ${r.rock} is listed twice`);
    // Two rocks with one image name would push to one repository and fight over its tags.
    if (seenImages.has(r.imageName)) throw new RegistryError('invalid', `image name ${r.imageName} is used by two rocks of the build`);
    seenRocks.add(r.rock);
    seenImages.add(r.imageName);
    return { ...r, repository: repositoryFor(target, r.imageName) };
  });
}

type Failed = { item: { rock: string; imageName: string }; error: Error };

function failures(failed: readonly Failed[]): RockFailure[] {
  return failed.map(({ item, error }) => ({ rock: item.rock, imageName: item.imageName, error }));
}

interface Outcome<T, R> {
  /** Results of the items that succeeded, in the order of `items`. */
  done: R[];
  failed: { item: T; error: Error }[];
  /** Items never started because an earlier one failed. */
  skipped: T[];
}

/**
 * Runs `work` over `items` with at most `limit` at a time. After a failure no new item starts
 * (unless `stopOnFailure` is false): a registry that refuses one rock usually refuses the next.
 */
async function eachLimited<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>, stopOnFailure = true): Promise<Outcome<T, R>> {
  const done: { index: number; value: R }[] = [];
  const failed: { item: T; error: Error }[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while ((!stopOnFailure || failed.length === 0) && next < items.length) {
      const index = next++;
      const item = items[index] as T;
      try {
        done.push({ index, value: await work(item) });
      } catch (err) {
        failed.push({ item, error: err instanceof Error ? err : new Error(String(err)) });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return { done: done.sort((a, b) => a.index - b.index).map((d) => d.value), failed, skipped: items.slice(next) };
}

/**
 * Pushes every rock of a build by digest, verifies each, then tags them all. Any failure before
 * tagging leaves every tag where it was and throws a PublishError naming the rocks that failed.
 */
export async function pushBuild(input: PushBuildInput, target: RegistryTarget, options: PublishOptions = {}): Promise<ImageRecord[]> {
  const tags = tagsForBuild(input.release, input.train, input.buildId, input.promote ?? false, input.series);
  const [immutable] = tags as [string, ...string[]];
  const planned = plan(input.rocks, target);
  const skopeo = options.skopeo ?? new Skopeo(target);
  const what = `build ${immutable}`;
  const call: CallOptions = options.signal ? { signal: options.signal } : {};
  const failure = (stage: PublishStage, outcome: Outcome<{ rock: string; imageName: string }, unknown>, pushed: ImageRecord[]): PublishError => {
    // A cancelled publish is reported as the cancellation, not as rocks that failed.
    options.signal?.throwIfAborted();
    return new PublishError(stage, failures(outcome.failed), pushed, what, outcome.skipped.map((s) => s.rock));
  };

  // 1. Read every archive first: a corrupt rock fails the build before anything is pushed. All
  //    are read even after a failure, so one report names every bad archive.
  const read = await eachLimited(
    planned,
    4,
    async (p) => {
      if (p.rockFile !== undefined) return { ...p, digest: (await readOciArchive(p.rockFile)).manifestDigest };
      if (p.digest === undefined) throw new RegistryError('invalid', `rock ${p.rock} has neither a .rock file nor a digest to tag`);
      return { ...p, digest: validateDigest(p.digest) };
    },
    false,
  );
  if (read.failed.length > 0) throw failure('read', read, []);

  // 2. Push by digest and check that the registry serves exactly that manifest.
  const pushed = await eachLimited(read.done, options.concurrency ?? 2, async (p): Promise<ImageRecord> => {
    const dest = { repository: p.repository, digest: p.digest };
    const written = p.rockFile !== undefined ? await skopeo.pushArchive(p.rockFile, dest, call) : p.digest;
    const stored = await skopeo.inspectDigest(dest, call);
    if (written !== p.digest || stored !== p.digest) {
      throw new RegistryError('invalid', `pushed ${p.rockFile} as ${p.digest} but the registry holds ${stored} (skopeo wrote ${written})`);
    }
    const ref = `${p.repository}@${p.digest}`;
    options.onEvent?.({ type: 'pushed', rock: p.rock, ref });
    return { rock: p.rock, imageName: p.imageName, repository: p.repository, digest: p.digest, tags: [], ref };
  });
  if (pushed.failed.length > 0) throw failure('push', pushed, pushed.done);
  const records = pushed.done;

  // 3. An immutable tag that already names another image means a build id was reused: refuse
  //    before any tag moves, rather than silently rewriting history.
  const clash = await eachLimited(records, options.concurrency ?? 2, async (r) => {
    const current = await skopeo.inspectDigest({ repository: r.repository, tag: immutable }, call).catch((err: unknown) => {
      if (err instanceof RegistryError && err.kind === 'not-found') return undefined;
      throw err;
    });
    if (current !== undefined && current !== r.digest) {
      throw new RegistryError('invalid', `tag ${immutable} of ${r.repository} already holds ${current}; immutable tags are never moved`);
    }
  });
  if (clash.failed.length > 0) throw failure('check', clash, records);

  // 4. Tags, one kind at a time across all rocks, so `latest` only moves once every rock has its build tag.
  for (const tag of tags) {
    const tagged = await eachLimited(records, options.concurrency ?? 2, async (r) => {
      await pushTag(skopeo, r, tag, call);
      options.onEvent?.({ type: 'tagged', rock: r.rock, tag, digest: r.digest });
    });
    if (tagged.failed.length > 0) throw failure('tag', tagged, records);
  }
  return records;
}

async function pushTag(skopeo: Skopeo, record: ImageRecord, tag: string, call: CallOptions): Promise<void> {
  const written = await skopeo.tag(record.repository, record.digest, tag, call);
  if (written !== record.digest) {
    throw new RegistryError('invalid', `tag ${tag} of ${record.repository} was written as ${written}, expected ${record.digest}`);
  }
  if (!record.tags.includes(tag)) record.tags.push(tag);
}

function checkRecord(record: ImageRecord, target: RegistryTarget): void {
  validateRepository(record.repository);
  validateDigest(record.digest);
  if (record.ref !== `${record.repository}@${record.digest}`) {
    throw new RegistryError('invalid', `image record of rock ${record.rock}: ref ${record.ref} does not match ${record.repository}@${record.digest}`);
  }
  if (!record.repository.startsWith(`${target.host}/`)) {
    throw new RegistryError('invalid', `image record of rock ${record.rock}: ${record.repository} is not on registry ${target.host}`);
  }
}

/**
 * Moves `<release>-<train>-stable` to each image's digest. Every digest is checked to be present
 * first, so a missing image fails before any stable tag moves. Returns the records with the tag added.
 */
export async function promote(images: readonly ImageRecord[], release: string, train: string, target: RegistryTarget, options: PublishOptions = {}, series?: string): Promise<ImageRecord[]> {
  const stable = movingTag(release, train, 'stable', series);
  for (const image of images) checkRecord(image, target);
  const skopeo = options.skopeo ?? new Skopeo(target);
  const call: CallOptions = options.signal ? { signal: options.signal } : {};
  const records = images.map((i) => ({ ...i, tags: [...i.tags] }));
  const what = `promotion to ${stable}`;

  const present = await eachLimited(records, options.concurrency ?? 2, async (r) => {
    const stored = await skopeo.inspectDigest({ repository: r.repository, digest: r.digest }, call);
    if (stored !== r.digest) throw new RegistryError('invalid', `${r.ref} is served as ${stored}`);
  });
  if (present.failed.length > 0) {
    options.signal?.throwIfAborted();
    throw new PublishError('check', failures(present.failed), [], what, present.skipped.map((s) => s.rock));
  }
  const tagged = await eachLimited(records, options.concurrency ?? 2, async (r) => {
    await pushTag(skopeo, r, stable, call);
    options.onEvent?.({ type: 'tagged', rock: r.rock, tag: stable, digest: r.digest });
  });
  if (tagged.failed.length > 0) {
    options.signal?.throwIfAborted();
    throw new PublishError('tag', failures(tagged.failed), records, what, tagged.skipped.map((s) => s.rock));
  }
  return records;
}

export interface VerifyResult {
  image: ImageRecord;
  ok: boolean;
  /** One line per problem: a missing manifest, another digest, an immutable tag that moved. */
  problems: string[];
}

/**
 * Checks that each record's ref resolves to its digest and that its immutable tags still do.
 * Moving tags are not checked: `-latest` and `-stable` legitimately move on to newer builds.
 */
export async function verify(images: readonly ImageRecord[], target: RegistryTarget, options: PublishOptions = {}): Promise<VerifyResult[]> {
  for (const image of images) checkRecord(image, target);
  const skopeo = options.skopeo ?? new Skopeo(target);
  const call: CallOptions = options.signal ? { signal: options.signal } : {};
  const results: VerifyResult[] = [];
  for (const image of images) {
    const problems: string[] = [];
    const refs: ImageRef[] = [
      { repository: image.repository, digest: image.digest },
      ...image.tags.filter((t) => !isMovingTag(t)).map((tag) => ({ repository: image.repository, tag })),
    ];
    for (const ref of refs) {
      const label = ref.digest !== undefined ? image.ref : `${image.repository}:${ref.tag}`;
      try {
        const stored = await skopeo.inspectDigest(ref, call);
        if (stored !== image.digest) problems.push(`${label} resolves to ${stored}, expected ${image.digest}`);
      } catch (err) {
        if (!(err instanceof RegistryError) || err.kind === 'transient' || err.kind === 'auth') throw err;
        problems.push(err.kind === 'not-found' ? `${label} is missing` : err.message);
      }
    }
    results.push({ image, ok: problems.length === 0, problems });
  }
  return results;
}
