// `heliostat mirror pull` and `heliostat mirror sync`: moving builds out of a mirror, into a
// directory or into another mirror. Both print what they did even when part of it failed, then
// fail with one line naming the first problem.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { PullFailedError, pullBuild, storeReader, type PullFileResult, type PullSummary } from '../../../mirror/pull.js';
import { listTrains, NotFoundInMirrorError } from '../../../mirror/query.js';
import { validateRockName, validateTrain } from '../../../mirror/layout.js';
import { SyncFailedError, syncMirror, type SyncReport } from '../../../mirror/sync.js';
import { UsageError } from '../../errors.js';
import type { CliEnv } from '../env.js';
import { collect } from '../flags.js';
import { closeMirrorStore, openMirrorStore, parseStoreSpec } from '../mirror-store.js';
import { printJson, type Output } from '../output.js';
import { formatBytes, parseBuildRef, resolveBuildRef, say, storeOptions, withStore, type MirrorFlags } from './mirror-common.js';

type PullFlags = MirrorFlags & { output?: string; rock?: string[] };
type SyncFlags = MirrorFlags & { from?: string; to?: string; train?: string };

function printPull(out: Output, summary: PullSummary): void {
  if (out.json) return printJson(out, summary);
  say(out, `${summary.ref} → ${summary.train}/${summary.release}/${summary.series}/${summary.buildId} into ${summary.dir}`);
  say(
    out,
    `pulled ${summary.files} files (${formatBytes(summary.totalBytes)}): ${summary.downloaded} downloaded, ${summary.resumed} resumed, ` +
      `${summary.skipped} already present, ${summary.failed} failed; ${formatBytes(summary.bytes)} transferred`,
  );
}

function fileLine(r: PullFileResult): string {
  const detail = r.status === 'resumed' ? ` from byte ${r.resumedFrom ?? 0}` : r.status === 'failed' ? `: ${r.error ?? ''}` : '';
  return `${r.status.padEnd(10)} ${r.path} (${formatBytes(r.size)})${detail}`;
}

function printSync(out: Output, report: SyncReport): void {
  if (out.json) return printJson(out, report);
  for (const s of report.series) {
    const moved = s.moved.length > 0 ? `; ${s.moved.join(', ')}` : '';
    say(out, `${s.train}/${s.release}/${s.series}: ${s.copied.length} builds copied, ${s.present} present, ${s.blobsCopied} blobs copied (${formatBytes(s.bytesCopied)}), ${s.blobsSkipped} already there${moved}`);
  }
  say(out, `synced ${report.from} → ${report.to}: ${report.buildsCopied} builds and ${report.blobsCopied} blobs (${formatBytes(report.bytesCopied)}) copied, ${report.buildsPresent} builds already there`);
}

export function registerMirrorTransfers(mirror: Command, env: CliEnv): void {
  storeOptions(
    mirror
      .command('pull')
      .description('download a build (or some of its rocks) into a directory, verified against SHA256SUMS; resumes partial files')
      .argument('<ref>', 'TRAIN/RELEASE/SERIES/<build-id|latest|stable|pin:NAME|as-of:TIME>')
      .requiredOption('-o, --output <dir>', 'directory to write the outputs into')
      .option('--rock <rock>', "only this rock's files, plus the build-wide files (repeatable)", collect),
  ).action(async (refText: string, flags: PullFlags, cmd: Command) => {
    const ref = parseBuildRef(refText);
    for (const rock of flags.rock ?? []) validateRockName(rock);
    const dir = resolve(env.cwd, flags.output ?? '');
    await withStore(env, cmd, async (store) => {
      const resolved = await resolveBuildRef(store, ref);
      const out = env.output(flags.json);
      try {
        const summary = await pullBuild(storeReader(store), { ...ref, release: resolved.release }, dir, {
          rocks: flags.rock ?? [],
          onFile: (r) => say(out, fileLine(r)),
        });
        printPull(out, summary);
      } catch (err) {
        if (err instanceof PullFailedError) printPull(out, err.summary);
        throw err;
      }
    });
  });

  storeOptions(
    mirror
      .command('sync')
      .description('copy the committed builds one mirror has and another lacks (blobs, records, aliases, pins), then reindex')
      .requiredOption('--from <spec>', 'source mirror: fs:PATH or s3://BUCKET/PREFIX')
      .requiredOption('--to <spec>', 'destination mirror (created when missing): fs:PATH or s3://BUCKET/PREFIX')
      .option('--train <train>', 'only this train'),
    false,
  ).action(async (flags: SyncFlags, cmd: Command) => {
    const [fromText, toText] = [flags.from ?? '', flags.to ?? ''];
    const [from, to] = [parseStoreSpec(fromText, env.cwd), parseStoreSpec(toText, env.cwd)];
    if (JSON.stringify(from) === JSON.stringify(to)) throw new UsageError('--from and --to name the same mirror');
    if (flags.train !== undefined) validateTrain(flags.train);
    const out = env.output(flags.json);
    await withStore(
      env,
      cmd,
      async (source, settings) => {
        // Check the train before the destination is created: bad input must change nothing.
        if (flags.train !== undefined && !(await listTrains(source)).includes(flags.train)) {
          throw new NotFoundInMirrorError(`no train ${flags.train} in ${source.location}; trains: ${(await listTrains(source)).join(', ') || '(none)'}`);
        }
        const dest = await openMirrorStore(settings, toText, { cwd: env.cwd, create: true });
        try {
          const report = await syncMirror(source, dest, { ...(flags.train ? { train: flags.train } : {}) });
          printSync(out, report);
        } catch (err) {
          if (err instanceof SyncFailedError) printSync(out, err.report);
          throw err;
        } finally {
          closeMirrorStore(dest);
        }
      },
      () => fromText,
    );
  });
}
