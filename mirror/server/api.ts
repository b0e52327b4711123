// The JSON API under /api/mirror/v1 (routes listed in protocol.ts). Read-only: it lists what the
// mirror has, resolves refs, returns build records, diffs two builds and serves blobs by digest
// (for a sync from this mirror). Every parameter is validated before the store is asked anything.
import { Router, type Request, type Response } from 'express';
import { serialiseBuildRecord } from '../build-record.js';
import { blobKey, formatTrainSeries, validateRelease, validateTrain, type TrainSeries } from '../layout.js';
import { readPins } from '../pins.js';
import { NotFoundInMirrorError, listReleases, listSeries, listTrains, resolveRef, showBuild, type ResolvedRef } from '../query.js';
import { readAlias } from '../series.js';
import type { MirrorStore } from '../stores/store.js';
import { diffBuilds } from './diff.js';
import { HttpError } from './errors.js';
import { pageParams, requiredParam, trainSeriesOf } from './params.js';
import type { ReleasesBody, ResolveBody, SeriesBody, TrainsBody } from './protocol.js';
import { sendFile } from './send-file.js';
import { buildsBody, explainMissing, requirePath } from './series-data.js';

type Params = Record<string, string>;

function seriesOf(req: Request<Params>): TrainSeries {
  return trainSeriesOf(req.params['train'] ?? '', req.params['release'] ?? '', req.params['series'] ?? '');
}

const noCache = (res: Response) => res.set('Cache-Control', res.get('Cache-Control') ?? 'no-cache');

async function resolveText(store: MirrorStore, ref: string): Promise<ResolvedRef> {
  try {
    return await resolveRef(store, ref);
  } catch (err) {
    // Only a well-formed ref gets here: resolveRef parses before it reads anything.
    const parts = ref.split('/');
    if (err instanceof NotFoundInMirrorError && parts.length === 4) {
      await requirePath(store, trainSeriesOf(parts[0] ?? '', parts[1] ?? '', parts[2] ?? ''));
    }
    throw err;
  }
}

export function apiRouter(store: MirrorStore): Router {
  const api = Router({ caseSensitive: true, strict: false });

  api.get('/trains', async (_req, res) => {
    const body: TrainsBody = { trains: await listTrains(store) };
    noCache(res).json(body);
  });

  api.get('/trains/:train/releases', async (req: Request<Params>, res) => {
    const train = validateTrain(req.params['train'] ?? '');
    await requirePath(store, { train });
    const body: ReleasesBody = { train, releases: await listReleases(store, train) };
    noCache(res).json(body);
  });

  api.get('/trains/:train/releases/:release/series', async (req: Request<Params>, res) => {
    const [train, release] = [validateTrain(req.params['train'] ?? ''), validateRelease(req.params['release'] ?? '')];
    await requirePath(store, { train, release });
    const names = await listSeries(store, train, release);
    const series = await Promise.all(
      names.map(async (s) => {
        const ts = { train, release, series: s };
        return { series: s, latest: (await readAlias(store, ts, 'latest')) ?? null, stable: (await readAlias(store, ts, 'stable')) ?? null };
      }),
    );
    const body: SeriesBody = { train, release, series };
    noCache(res).json(body);
  });

  api.get('/builds/:train/:release/:series', async (req: Request<Params>, res) => {
    const ts = seriesOf(req);
    noCache(res).json(await buildsBody(store, ts, pageParams(req)));
  });

  api.get('/builds/:train/:release/:series/:selector', async (req: Request<Params>, res) => {
    const ts = seriesOf(req);
    const resolved = await resolveText(store, `${formatTrainSeries(ts)}/${req.params['selector'] ?? ''}`);
    const record = await explainMissing(store, ts, () => showBuild(store, ts, resolved.buildId));
    // A record by build id never changes; one named by an alias or pin may name another build tomorrow.
    const immutable = resolved.buildId === req.params['selector'];
    res.set('Cache-Control', res.get('Cache-Control') ?? (immutable ? 'public, max-age=86400' : 'no-cache'));
    res.type('application/json').send(serialiseBuildRecord(record));
  });

  api.get('/pins/:train/:release/:series', async (req: Request<Params>, res) => {
    const ts = seriesOf(req);
    await requirePath(store, ts);
    noCache(res).json(await readPins(store, ts));
  });

  api.get('/resolve', async (req, res) => {
    const r = await resolveText(store, requiredParam(req, 'ref'));
    const body: ResolveBody = { train: r.train, release: r.release, series: r.series, buildId: r.buildId, ref: r.ref };
    noCache(res).json(body);
  });

  api.get('/diff', async (req, res) => {
    const [fromText, toText] = [requiredParam(req, 'from'), requiredParam(req, 'to')];
    const [from, to] = [await resolveText(store, fromText), await resolveText(store, toText)];
    const [a, b] = [await showBuild(store, from, from.buildId), await showBuild(store, to, to.buildId)];
    noCache(res).json({ from, to, ...diffBuilds(a, b) });
  });

  api.get('/blobs/sha256/:hex', async (req: Request<Params>, res) => {
    const digest = `sha256:${req.params['hex'] ?? ''}`;
    const key = blobKey(digest);
    const info = await store.stat(key);
    if (!info) throw new HttpError(404, `no blob ${digest}`);
    await sendFile(req, res, {
      digest,
      size: info.size,
      modified: info.modified,
      name: 'blob',
      cacheControl: 'public, max-age=31536000, immutable',
      open: (range) => store.getStream(key, range),
    });
  });

  api.all('/{*rest}', (req) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'the mirror API is read-only', { Allow: 'GET, HEAD' });
    throw new HttpError(404, 'no such mirror API endpoint; see /api/mirror/v1/trains');
  });
  return api;
}
