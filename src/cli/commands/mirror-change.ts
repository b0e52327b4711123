// `heliostat mirror promote|pin|unpin|gc|reindex`: the commands that change what a mirror offers.
// Every flag is checked before the store is opened, and every precondition that depends on the
// mirror (the build exists, succeeded, the pin exists) before anything is written.
import type { Command } from 'commander';
import { collectGarbage, type GcReport } from '../../../mirror/gc.js';
import { formatTrainSeries, validatePinName } from '../../../mirror/layout.js';
import { applyTrainRetention, promote, reindex, removePin, repairSeries, setPin, type RetentionReport } from '../../../mirror/lifecycle.js';
import { NotFoundInMirrorError, listTrains, showBuild } from '../../../mirror/query.js';
import { parseInstant } from '../../../mirror/ref.js';
import { validatePolicy, type RetentionPolicy } from '../../../mirror/retention.js';
import { UsageError } from '../../errors.js';
import type { CliEnv } from '../env.js';
import { note, printJson, type Output } from '../output.js';
import { formatBytes, parseBuildRef, parseCount, parseDuration, parseSeriesPath, requireSeries, resolveBuildRef, say, storeOptions, withStore, type MirrorFlags } from './mirror-common.js';

type PinFlags = MirrorFlags & { name: string; expires?: string; for?: string; note?: string };
type GcFlags = MirrorFlags & { grace?: string; dryRun?: boolean; keepDays?: string; keepMin?: string; keepMax?: string; train?: string };
type ReindexFlags = MirrorFlags & { repair?: boolean };

/** The expiry a pin asks for, checked to be in the future. */
function pinExpiry(flags: PinFlags, now: Date): Date | undefined {
  if (flags.expires !== undefined && flags.for !== undefined) throw new UsageError('give either --expires or --for, not both');
  const at = flags.expires !== undefined ? parseInstant(flags.expires) : flags.for !== undefined ? new Date(now.getTime() + parseDuration('--for', flags.for)) : undefined;
  if (at && at.getTime() <= now.getTime()) throw new UsageError(`--expires ${flags.expires ?? ''} is not in the future`);
  return at;
}

function retentionPolicy(flags: GcFlags): RetentionPolicy | undefined {
  const policy: RetentionPolicy = {};
  const days = parseCount('--keep-days', flags.keepDays, false);
  const min = parseCount('--keep-min', flags.keepMin, true);
  const max = parseCount('--keep-max', flags.keepMax, true);
  if (days !== undefined) policy.keepDays = days;
  if (min !== undefined) policy.keepMin = min;
  if (max !== undefined) policy.keepMax = max;
  if (Object.keys(policy).length === 0) {
    if (flags.train !== undefined) throw new UsageError('--train applies to retention: give --keep-days, --keep-min or --keep-max too');
    return undefined;
  }
  try {
    return validatePolicy(policy);
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

function printGc(out: Output, retention: RetentionReport[], gc: GcReport): void {
  if (out.json) return printJson(out, { dryRun: gc.dryRun, retention, gc });
  const verb = gc.dryRun ? 'would delete' : 'deleted';
  for (const r of retention) {
    for (const d of r.decision.drop) say(out, `${verb} build ${formatTrainSeries(r)}/${d.buildId}: ${d.reason}`);
    if (r.decision.drop.length === 0) say(out, `${formatTrainSeries(r)}: keeping all ${r.decision.keep.length} builds`);
  }
  for (const c of gc.deleted) say(out, `${verb} ${c.key} (${formatBytes(c.size)}): ${c.reason}`);
  say(out, `${verb} ${gc.deleted.length} objects (${formatBytes(gc.bytesFreed)}); ${gc.referencedBlobs} blobs referenced by ${gc.builds} builds, ${gc.protectedBlobs} unreferenced blobs within the grace period or in use by a publish`);
}

export function registerMirrorChanges(mirror: Command, env: CliEnv): void {
  storeOptions(mirror.command('promote').description('point stable_build at a successful build').argument('<ref>', 'TRAIN/RELEASE/SERIES/<build-id|latest|pin:NAME|as-of:TIME>')).action(
    async (refText: string, flags: MirrorFlags, cmd: Command) => {
      const ref = parseBuildRef(refText);
      await withStore(env, cmd, async (store) => {
        const build = await resolveBuildRef(store, ref);
        const record = await showBuild(store, build, build.buildId);
        if (record.result !== 'success') throw new UsageError(`cannot promote ${build.buildId}: its result is ${record.result}`);
        const { previous } = await promote(store, build, build.buildId);
        const out = env.output(flags.json);
        if (out.json) printJson(out, { train: build.train, release: build.release, series: build.series, stable: build.buildId, previous: previous ?? null });
        else say(out, `stable of ${formatTrainSeries(build)} → ${build.buildId}${previous ? ` (was ${previous})` : ''}`);
      });
    },
  );

  storeOptions(
    mirror
      .command('pin')
      .description('give a build a named pin, protected from retention until it expires')
      .argument('<ref>', 'TRAIN/RELEASE/SERIES/<build-id|latest|stable|pin:NAME|as-of:TIME>')
      .requiredOption('--name <name>', 'pin name: [a-z0-9][a-z0-9._-]{0,62}')
      .option('--expires <time>', 'expiry as ISO 8601 with a zone, e.g. 2025-01-31T00:00:00Z')
      .option('--for <duration>', 'expiry as a duration from now, e.g. 7d or 12h')
      .option('--note <text>', 'why the pin exists (one line)'),
  ).action(async (refText: string, flags: PinFlags, cmd: Command) => {
    const ref = parseBuildRef(refText);
    validatePinName(flags.name);
    const now = new Date();
    const expiresAt = pinExpiry(flags, now);
    // A note is shown in listings, one line per pin: control characters would break them.
    // eslint-disable-next-line no-control-regex
    if (flags.note !== undefined && (flags.note.length > 1024 || /[\u0000-\u001f\u007f]/.test(flags.note))) {
      throw new UsageError('--note must be one line of at most 1024 characters');
    }
    await withStore(env, cmd, async (store) => {
      const build = await resolveBuildRef(store, ref);
      const pin = await setPin(store, build, flags.name, build.buildId, { ...(expiresAt ? { expiresAt } : {}), ...(flags.note ? { note: flags.note } : {}), now: () => now });
      const out = env.output(flags.json);
      if (out.json) printJson(out, { train: build.train, release: build.release, series: build.series, name: flags.name, ...pin });
      else say(out, `pin:${flags.name} of ${formatTrainSeries(build)} → ${build.buildId}${pin.expiresAt ? ` until ${pin.expiresAt}` : ''}`);
    });
  });

  storeOptions(
    mirror.command('unpin').description('remove a named pin').argument('<series>', 'TRAIN/RELEASE/SERIES').requiredOption('--name <name>', 'pin name'),
  ).action(async (seriesText: string, flags: PinFlags, cmd: Command) => {
    const path = parseSeriesPath(seriesText, true);
    validatePinName(flags.name);
    await withStore(env, cmd, async (store) => {
      const ts = await requireSeries(store, path);
      if (!(await removePin(store, ts, flags.name))) throw new NotFoundInMirrorError(`no pin named ${flags.name} in ${formatTrainSeries(ts)}`);
      const out = env.output(flags.json);
      if (out.json) printJson(out, { ...ts, name: flags.name, removed: true });
      else say(out, `removed pin:${flags.name} of ${formatTrainSeries(ts)}`);
    });
  });

  storeOptions(
    mirror
      .command('gc')
      .description('apply retention (with --keep-*), then delete blobs no build references once older than the grace period')
      .option('--grace <duration>', 'only collect blobs unreferenced for longer than this', '24h')
      .option('--dry-run', 'list what would be deleted and why; delete nothing')
      .option('--keep-days <n>', 'retention: drop builds older than n days')
      .option('--keep-min <n>', 'retention: always keep the newest n successful builds')
      .option('--keep-max <n>', 'retention: keep at most n builds')
      .option('--train <train>', 'retention: only this train (default every train)'),
  ).action(async (flags: GcFlags, cmd: Command) => {
    const graceMs = parseDuration('--grace', flags.grace ?? '24h');
    const policy = retentionPolicy(flags);
    const train = flags.train === undefined ? undefined : parseSeriesPath(flags.train).train;
    const dryRun = flags.dryRun ?? false;
    await withStore(env, cmd, async (store) => {
      const trains = train ? [(await requireSeries(store, { train })).train] : await listTrains(store);
      const retention: RetentionReport[] = [];
      if (policy) for (const t of trains) retention.push(...(await applyTrainRetention(store, t, policy, { dryRun })));
      const gc = await collectGarbage(store, { graceMs, dryRun });
      const out = env.output(flags.json);
      if (dryRun && retention.some((r) => r.decision.drop.length > 0)) note(out, 'blobs only the dropped builds use are counted once the builds are really dropped');
      printGc(out, retention, gc);
    });
  });

  storeOptions(
    mirror
      .command('reindex')
      .description("rebuild a series' index.json from its build records")
      .argument('<series>', 'TRAIN/RELEASE/SERIES')
      .option('--repair', 'also relink the browsable view and move latest forward (after an interrupted publish)'),
  ).action(async (seriesText: string, flags: ReindexFlags, cmd: Command) => {
    const path = parseSeriesPath(seriesText, true);
    await withStore(env, cmd, async (store) => {
      const ts = await requireSeries(store, path);
      const out = env.output(flags.json);
      if (flags.repair) {
        const report = await repairSeries(store, ts);
        if (out.json) printJson(out, report);
        else say(out, `repaired ${formatTrainSeries(ts)}: ${report.builds} builds, ${report.viewsMaterialised} view links${report.latestMovedTo ? `, latest → ${report.latestMovedTo}` : ''}`);
        return;
      }
      const builds = await reindex(store, ts);
      if (out.json) printJson(out, { ...ts, builds });
      else say(out, `reindexed ${formatTrainSeries(ts)}: ${builds} builds`);
    });
  });
}
