// `heliostat mirror pull` and `heliostat mirror sync`: moving builds out of a mirror, into a
// directory or into another mirror. Both print what they did even when part of it failed, then
// fail with one line naming the first problem. The source may also be a served mirror
// (`http(s)://host/`, read through the JSON API with the token in $HELIOSTAT_MIRROR_TOKEN); the
// same verification applies, since every byte is checked against build.json either way.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { HttpMirrorStore, MIRROR_TOKEN_ENV, httpReader, isHttpMirrorUrl, parseMirrorUrl, type HttpMirrorOptions } from '../../../mirror/http-reader.js';
import { PullFailedError, pullBuild, storeReader, type MirrorReader, type PullFileResult, type PullSummary } from '../../../mirror/pull.js';
import { listTrains, NotFoundInMirrorError } from '../../../mirror/query.js';
import { validateRockName, validateTrain } from '../../../mirror/layout.js';
import type { BuildRef } from '../../../mirror/ref.js';
import type { MirrorStore } from '../../../mirror/stores/store.js';
import { SyncFailedError, syncMirror, type SyncReport } from '../../../mirror/sync.js';
import { UsageError } from '../../errors.js';
import type { CliEnv } from '../env.js';
import { collect } from '../flags.js';
import { closeMirrorStore, openMirrorStore, parseStoreSpec } from '../mirror-store.js';
import { printJson, type Output } from '../output.js';
import type { Settings } from '../settings.js';
import { formatBytes, parseBuildRef, requireSeries, say, storeOptions, withStore, type MirrorFlags } from './mirror-common.js';

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

/** The bearer token for a private served mirror comes from the environment only, never a flag. */
function httpOptions(env: CliEnv): HttpMirrorOptions {
  const token = env.env[MIRROR_TOKEN_ENV];
  return token ? { token } : {};
}

/** Checks the ref's train/release/series on `lookup` (naming what exists, mapping a codename), then pulls through `reader`. */
async function runPull(lookup: MirrorStore, reader: MirrorReader, ref: BuildRef, dir: string, flags: PullFlags, out: Output): Promise<void> {
  const ts = await requireSeries(lookup, { train: ref.train, release: ref.release, series: ref.series });
  try {
    const summary = await pullBuild(reader, { ...ref, release: ts.release }, dir, {
      rocks: flags.rock ?? [],
      onFile: (r) => say(out, fileLine(r)),
    });
    printPull(out, summary);
  } catch (err) {
    if (err instanceof PullFailedError) printPull(out, err.summary);
    throw err;
  }
}

export function registerMirrorTransfers(mirror: Command, env: CliEnv): void {
  storeOptions(
    mirror
      .command('pull')
      .description('download a build (or some of its rocks) into a directory, verified against SHA256SUMS; resumes partial files; --mirror may be the http(s):// URL of a served mirror')
      .argument('<ref>', 'TRAIN/RELEASE/SERIES/<build-id|latest|stable|pin:NAME|as-of:TIME>')
      .requiredOption('-o, --output <dir>', 'directory to write the outputs into')
      .option('--rock <rock>', "only this rock's files, plus the build-wide files (repeatable)", collect),
  ).action(async (refText: string, flags: PullFlags, cmd: Command) => {
    const ref = parseBuildRef(refText);
    for (const rock of flags.rock ?? []) validateRockName(rock);
    const dir = resolve(env.cwd, flags.output ?? '');
    const out = env.output(flags.json);
    const settings = await env.settings(cmd.optsWithGlobals());
    if (isHttpMirrorUrl(settings.mirror)) {
      const url = parseMirrorUrl(settings.mirror);
      const options = httpOptions(env);
      await runPull(new HttpMirrorStore(url, options), httpReader(url, options), ref, dir, flags, out);
      return;
    }
    await withStore(env, cmd, (store) => runPull(store, storeReader(store), ref, dir, flags, out));
  });

  storeOptions(
    mirror
      .command('sync')
      .description('copy the committed builds one mirror has and another lacks (blobs, records, aliases, pins), then reindex')
      .requiredOption('--from <spec>', 'source mirror: fs:PATH, s3://BUCKET/PREFIX, or http(s)://HOST/ of a served mirror')
      .requiredOption('--to <spec>', 'destination mirror (created when missing): fs:PATH or s3://BUCKET/PREFIX')
      .option('--train <train>', 'only this train'),
    false,
  ).action(async (flags: SyncFlags, cmd: Command) => {
    const [fromText, toText] = [flags.from ?? '', flags.to ?? ''];
    if (isHttpMirrorUrl(toText)) throw new UsageError('--to cannot be an HTTP mirror, which is read-only: sync into fs:PATH or s3://BUCKET/PREFIX');
    const to = parseStoreSpec(toText, env.cwd);
    const fromUrl = isHttpMirrorUrl(fromText) ? parseMirrorUrl(fromText) : undefined;
    if (!fromUrl && JSON.stringify(parseStoreSpec(fromText, env.cwd)) === JSON.stringify(to)) throw new UsageError('--from and --to name the same mirror');
    if (flags.train !== undefined) validateTrain(flags.train);
    const out = env.output(flags.json);
    const work = async (source: MirrorStore, settings: Settings) => {
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
    };
    if (fromUrl) await work(new HttpMirrorStore(fromUrl, httpOptions(env)), await env.settings(cmd.optsWithGlobals()));
    else await withStore(env, cmd, work, () => fromText);
  });
}
