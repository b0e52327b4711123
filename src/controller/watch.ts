// The change watch: before a scheduled build, ask cheaply whether anything it depends on moved —
// the head of the upstream rocks branch (one ls-remote) and the InRelease of each apt source
// (a conditional HEAD) — and compare with what the train's last build saw. Answers are shared
// between trains for a short window, so trains on the same branch and archive cost one request.
//
// Which InRelease: the Ubuntu archive's release suite is frozen once a series is out, and security
// uploads are copied to -updates, so `<series>-updates` (plus `-proposed` for the proposed pocket)
// moves whenever the archive source changes; the UCA pocket and each PPA have one suite each.
import type { ArchiveUrls } from '../archive/apt-sources.js';
import { aptSourcesForTarget } from '../archive/apt-sources.js';
import type { IndexFetcher } from '../archive/fetch-index.js';
import { indexLocations } from '../archive/sources-list.js';
import { getRelease, getSeries } from '../catalog/releases.js';
import { parsePpaFlag } from '../cli/flags.js';
import { CoalescingWriter, readJson } from './state-file.js';
import { trainKey, type TrainSpec } from './trains.js';

/** What a train's inputs looked like: the upstream head and a version (validator) per InRelease URL. */
export interface Observation {
  head?: string;
  sources: Record<string, string>;
}

export interface CheckResult {
  changed: boolean;
  /** Why it changed (empty when it did not). */
  reasons: string[];
  observation: Observation;
}

export interface WatchDeps {
  upstream: { resolveBranch(branch: string): Promise<{ commit: string }> };
  /** A fetcher used only for probes: its cache holds the validators last seen per URL. */
  prober: IndexFetcher;
  archives: ArchiveUrls;
  arch: string;
  now: () => Date;
  /** How long one answer serves every train that asks (default 60 s). */
  shareMs?: number;
}

interface WatchFile {
  schema: 1;
  trains: Record<string, Observation & { at: string }>;
}

/** The InRelease URLs whose change means the train's packages may have changed. */
export function watchedUrls(train: Pick<TrainSpec, 'release' | 'series' | 'pocket' | 'ppas'>, archives: ArchiveUrls, arch: string): string[] {
  const release = getRelease(train.release);
  const series = getSeries(train.series);
  const ppas = train.ppas.map(parsePpaFlag);
  const urls = new Set<string>();
  for (const source of aptSourcesForTarget({ release, series, pocket: train.pocket, ppas, archives })) {
    for (const location of indexLocations(source, { series: series.name, arch })) {
      if (source.type === 'archive' && !/-(updates|proposed)$/.test(location.suite)) continue;
      urls.add(location.inRelease);
    }
  }
  return [...urls].sort();
}

export class ChangeWatcher {
  private state: WatchFile = { schema: 1, trains: {} };
  private readonly shared = new Map<string, { at: number; value: Promise<string> }>();
  private readonly writer: CoalescingWriter;

  constructor(
    readonly path: string,
    private deps: WatchDeps,
    onError?: (error: unknown) => void,
  ) {
    this.writer = new CoalescingWriter(path, () => this.state, onError);
  }

  /** New adapters after a configuration reload; what was recorded stays. */
  setDeps(deps: WatchDeps): void {
    this.deps = deps;
    this.shared.clear();
  }

  async load(): Promise<void> {
    const data = (await readJson(this.path).catch(() => undefined)) as WatchFile | undefined;
    if (data?.schema === 1 && typeof data.trains === 'object') this.state = data;
  }

  /** Observes the train's inputs now (ls-remote + one conditional request per InRelease). */
  async observe(train: TrainSpec): Promise<Observation> {
    const branch = getRelease(train.release).rocksBranch;
    const urls = watchedUrls(train, this.deps.archives, this.deps.arch);
    const [head, versions] = await Promise.all([
      this.share(`head ${branch}`, async () => (await this.deps.upstream.resolveBranch(branch)).commit),
      Promise.all(urls.map((url) => this.share(`url ${url}`, () => this.version(url)))),
    ]);
    return { head, sources: Object.fromEntries(urls.map((url, i) => [url, versions[i] ?? ''])) };
  }

  /** Whether anything changed since the train's last recorded build; a train never built has changed. */
  async check(train: TrainSpec): Promise<CheckResult> {
    const observation = await this.observe(train);
    const before = this.state.trains[trainKey(train)];
    const reasons: string[] = [];
    if (!before) reasons.push('never built by this controller');
    else {
      if (before.head !== observation.head) reasons.push(`upstream head ${before.head?.slice(0, 12) ?? '(none)'} → ${observation.head?.slice(0, 12) ?? '(none)'}`);
      for (const [url, version] of Object.entries(observation.sources)) {
        if (before.sources[url] !== version || version.startsWith('unversioned:')) reasons.push(`${url} changed`);
      }
    }
    return { changed: reasons.length > 0, reasons, observation };
  }

  /** Records that the train was built from what `observation` describes. */
  async commit(train: Pick<TrainSpec, 'name' | 'release' | 'series'>, observation: Observation): Promise<void> {
    this.state.trains[trainKey(train)] = { ...observation, at: this.deps.now().toISOString() };
    await this.writer.save();
  }

  flush(): Promise<void> {
    return this.writer.flush();
  }

  /** One answer per key for `shareMs`; failures are not kept, so the next asker retries. */
  private share(key: string, load: () => Promise<string>): Promise<string> {
    const now = this.deps.now().getTime();
    const hit = this.shared.get(key);
    if (hit && now - hit.at < (this.deps.shareMs ?? 60_000)) return hit.value;
    const value = load();
    this.shared.set(key, { at: now, value });
    void value.catch(() => this.shared.delete(key));
    return value;
  }

  /**
   * The current version of an InRelease: its validator (ETag, else Last-Modified). The probe is
   * conditional on the validators last seen; a 304 keeps them, a 200 records the new ones.
   */
  private async version(url: string): Promise<string> {
    const cache = this.deps.prober.cache;
    const seen = await cache.readMeta(url);
    const result = await this.deps.prober.probe(url);
    if (result.status === 304 && seen) return seen.etag ?? seen.lastModified ?? this.unversioned();
    const validators = { ...(result.etag ? { etag: result.etag } : {}), ...(result.lastModified ? { lastModified: result.lastModified } : {}) };
    // Only the validators matter here; the body is never read from this cache.
    if (validators.etag || validators.lastModified) await cache.write(url, Buffer.alloc(0), validators, this.deps.now());
    return result.etag ?? result.lastModified ?? this.unversioned();
  }

  /** A server without validators cannot say "unchanged": every check counts as a change. */
  private unversioned(): string {
    return `unversioned:${this.deps.now().toISOString()}`;
  }
}
