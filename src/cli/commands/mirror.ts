// `heliostat mirror ...`: list, show, pull, promote, pin, unpin, gc, sync, reindex. This file holds
// the group and the read-only commands; changes are in mirror-change.ts, transfers in
// mirror-transfer.ts.
import type { Command } from 'commander';
import { recordSize, type BuildRecord } from '../../../mirror/build-record.js';
import { buildIdToDate, formatTrainSeries, type TrainSeries } from '../../../mirror/layout.js';
import { listPins } from '../../../mirror/lifecycle.js';
import { listBuilds, listReleases, listSeries, listTrains, showBuild } from '../../../mirror/query.js';
import type { IndexEntry } from '../../../mirror/series-index.js';
import { readAlias } from '../../../mirror/series.js';
import type { MirrorStore } from '../../../mirror/stores/store.js';
import type { CliEnv } from '../env.js';
import { printJson, printRows, renderTable } from '../output.js';
import { registerMirrorChanges } from './mirror-change.js';
import { registerMirrorServe } from './mirror-serve.js';
import { formatAge, formatBytes, parseBuildRef, parseSeriesPath, requireSeries, resolveBuildRef, storeOptions, withStore, type MirrorFlags } from './mirror-common.js';
import { registerMirrorTransfers } from './mirror-transfer.js';

/** Which aliases and live pins point at each build of a series. */
async function aliasesOf(store: MirrorStore, ts: TrainSeries): Promise<Map<string, string[]>> {
  const marks = new Map<string, string[]>();
  const add = (id: string | undefined, mark: string) => id && marks.set(id, [...(marks.get(id) ?? []), mark]);
  add(await readAlias(store, ts, 'latest'), 'latest');
  add(await readAlias(store, ts, 'stable'), 'stable');
  for (const { name, pin, live } of await listPins(store, ts)) if (live) add(pin.buildId, `pin:${name}`);
  return marks;
}

const count = (e: IndexEntry, outcome: string) => e.rocks.filter((r) => r.outcome === outcome).length;

async function listBuildsOf(store: MirrorStore, ts: TrainSeries, env: CliEnv, json?: boolean): Promise<void> {
  const [{ builds }, marks] = [await listBuilds(store, ts), await aliasesOf(store, ts)];
  const now = new Date();
  const rows = [...builds].reverse(); // newest first, as people read a history
  printRows(
    env.output(json),
    rows,
    [
      { header: 'build', value: (b) => b.buildId },
      { header: 'result', value: (b) => b.result },
      { header: 'age', value: (b) => formatAge(buildIdToDate(b.buildId), now) },
      { header: 'built', value: (b) => String(count(b, 'built')) },
      { header: 'reused', value: (b) => String(count(b, 'reused')) },
      { header: 'failed', value: (b) => String(count(b, 'failed')) },
      { header: 'size', value: (b) => formatBytes(b.size) },
      { header: 'aliases', value: (b) => (marks.get(b.buildId) ?? []).join(' ') },
    ],
    (b) => ({ ...ts, ...b, aliases: marks.get(b.buildId) ?? [] }),
  );
}

async function listLevel(store: MirrorStore, text: string | undefined, env: CliEnv, json?: boolean): Promise<void> {
  const out = env.output(json);
  if (text === undefined) {
    const trains = await Promise.all((await listTrains(store)).map(async (train) => ({ train, releases: await listReleases(store, train) })));
    printRows(out, trains, [{ header: 'train', value: (t) => t.train }, { header: 'releases', value: (t) => t.releases.join(' ') }], (t) => t);
    return;
  }
  const path = await requireSeries(store, parseSeriesPath(text));
  if (path.release === undefined) {
    const rows = await Promise.all((await listReleases(store, path.train)).map(async (release) => ({ release, series: await listSeries(store, path.train, release) })));
    printRows(out, rows, [{ header: 'release', value: (r) => r.release }, { header: 'series', value: (r) => r.series.join(' ') }], (r) => ({ train: path.train, ...r }));
    return;
  }
  if (path.series === undefined) {
    const release = path.release;
    const rows = await Promise.all(
      (await listSeries(store, path.train, release)).map(async (series) => {
        const ts = { train: path.train, release, series };
        const { builds } = await listBuilds(store, ts);
        return { ...ts, builds: builds.length, latest: (await readAlias(store, ts, 'latest')) ?? null, stable: (await readAlias(store, ts, 'stable')) ?? null };
      }),
    );
    printRows(
      out,
      rows,
      [
        { header: 'series', value: (r) => r.series },
        { header: 'builds', value: (r) => String(r.builds) },
        { header: 'latest', value: (r) => r.latest ?? '-' },
        { header: 'stable', value: (r) => r.stable ?? '-' },
      ],
      (r) => r,
    );
    return;
  }
  await listBuildsOf(store, { train: path.train, release: path.release, series: path.series }, env, json);
}

function showText(record: BuildRecord, ref: string, aliases: string[]): string {
  const c = record.context;
  const started = new Date(record.startedAt);
  const minutes = Math.round((Date.parse(record.finishedAt) - started.getTime()) / 60_000);
  const lines = [
    `build:        ${formatTrainSeries(record)}/${record.buildId}`,
    `ref:          ${ref}`,
    `result:       ${record.result}`,
    `aliases:      ${aliases.join(' ') || '-'}`,
    `started:      ${record.startedAt}`,
    `finished:     ${record.finishedAt} (${minutes} min)`,
    `upstream:     ${c.upstream.repo} @ ${c.upstream.commit}`,
    `branch:       ${c.branch}`,
    `pocket:       ${c.pocket}`,
    `ppas:         ${c.ppas.join(' ') || '-'}`,
    `patches:      ${c.patches.map((p) => p.name).join(' ') || '-'}`,
    `builder:      ${c.builderVersion} (${c.arch})`,
    `build key:    ${c.buildKey ?? '-'}`,
    `files:        ${Object.keys(record.files).length} (${formatBytes(recordSize(record))})`,
    '',
  ];
  const rocks = renderTable(record.rocks, [
    { header: 'rock', value: (r) => r.name },
    { header: 'version', value: (r) => r.version },
    { header: 'arch', value: (r) => r.arch },
    { header: 'outcome', value: (r) => [r.outcome, r.failureClass, r.reusedFrom && `from ${r.reusedFrom}`].filter(Boolean).join(' ') },
    { header: 'image', value: (r) => (r.image ? `${r.image.ref}@${r.image.digest}` : '-') },
  ]);
  return lines.join('\n') + rocks;
}

export function registerMirror(program: Command, env: CliEnv): void {
  const mirror = program.command('mirror').description('work with the artifact mirror: list, show, pull, promote, pin, unpin, gc, sync, reindex');

  storeOptions(
    mirror
      .command('list')
      .description('list trains, releases of a train, series of a release, or the builds of a series')
      .argument('[path]', 'TRAIN, TRAIN/RELEASE or TRAIN/RELEASE/SERIES'),
  ).action(async (path: string | undefined, flags: MirrorFlags, cmd: Command) => {
    if (path !== undefined) parseSeriesPath(path); // bad input fails before the store is opened
    await withStore(env, cmd, (store) => listLevel(store, path, env, flags.json));
  });

  storeOptions(
    mirror
      .command('show')
      .description('show one build: result, inputs, rocks and aliases')
      .argument('<ref>', 'TRAIN/RELEASE/SERIES/<build-id|latest|stable|pin:NAME|as-of:TIME>'),
  ).action(async (refText: string, flags: MirrorFlags, cmd: Command) => {
    const ref = parseBuildRef(refText);
    await withStore(env, cmd, async (store) => {
      const resolved = await resolveBuildRef(store, ref);
      const record = await showBuild(store, resolved, resolved.buildId);
      const aliases = (await aliasesOf(store, resolved)).get(resolved.buildId) ?? [];
      const out = env.output(flags.json);
      if (out.json) printJson(out, { ref: resolved.ref, aliases, record });
      else out.stdout.write(showText(record, resolved.ref, aliases));
    });
  });

  registerMirrorTransfers(mirror, env);
  registerMirrorChanges(mirror, env);
  registerMirrorServe(mirror, env);
}
