// The StarlingX view and the browse pages, which are one tree:
//   /                                   trains              /<t>/                 releases
//   /<t>/<r>/                           series              /<t>/<r>/<s>/         builds (?limit&before)
//   /<t>/<r>/<s>/latest_build           alias → build id    /<t>/<r>/<s>/history  history chart
//   /<t>/<r>/<s>/diff?from&to           package diff        /<t>/<r>/<s>/<sel>/   build page
//   /<t>/<r>/<s>/<sel>/build.json       the record          /<t>/<r>/<s>/<sel>/outputs/[<folder>/]  listing
//   /<t>/<r>/<s>/<sel>/outputs/<path>   the file, resolved through build.json to its blob
// where <sel> is a build id, latest_build or stable_build. The path is parsed here rather than by
// route patterns so every segment is decoded once and validated (params.ts) before use. Paths whose
// first segment a train may not take (api, healthz, metrics, blobs, meta, …) are not the mirror's:
// they pass to whatever the router is mounted beside.
import type { Request, RequestHandler, Response } from 'express';
import { serialiseBuildRecord } from '../build-record.js';
import { isReservedTopName, validateOutputPath, validateRelease, validateTrain, type TrainSeries } from '../layout.js';
import { openOutput } from '../query.js';
import type { MirrorStore } from '../stores/store.js';
import { HttpError, wantsJson } from './errors.js';
import { sendPage } from './html.js';
import { buildPage, outputsPage, type BuildView } from './pages-build.js';
import { diffPage, historyPage, seriesPage } from './pages-series.js';
import { homePage, releasePage, trainPage, type PageContext, type Rendered } from './pages.js';
import { pageParams, queryParam, splitPath, trainSeriesOf, viewSelector, type SplitPath, type ViewSelector } from './params.js';
import { sendFile } from './send-file.js';
import { explainMissing, requirePath, selectBuild, selectRecord, seriesMarks } from './series-data.js';

export interface ViewOptions {
  brand: string;
}

const CACHE_IMMUTABLE = 'public, max-age=31536000, immutable';
const CACHE_MOVING = 'no-cache';

function respond(res: Response, rendered: Rendered): void {
  if ('json' in rendered) res.set('Cache-Control', res.get('Cache-Control') ?? CACHE_MOVING).json(rendered.json);
  else sendPage(res, rendered.html);
}

/** Folder URLs end in '/'; asking without it is answered with the canonical URL, as web servers do. */
function redirectToFolder(req: Request, res: Response): void {
  const q = req.originalUrl.indexOf('?');
  const path = q < 0 ? req.originalUrl : req.originalUrl.slice(0, q);
  res.redirect(301, `${path}/${q < 0 ? '' : req.originalUrl.slice(q)}`);
}

async function buildView(store: MirrorStore, ts: TrainSeries, selectorText: string, selector: ViewSelector): Promise<BuildView> {
  const record = await selectRecord(store, ts, selector);
  const marks = await seriesMarks(store, ts);
  return { ts, record, selector: selectorText, aliases: marks.marks.get(record.buildId) ?? [] };
}

async function serveOutput(req: Request, res: Response, store: MirrorStore, ts: TrainSeries, selector: ViewSelector, path: string): Promise<void> {
  validateOutputPath(path);
  const buildId = await explainMissing(store, ts, () => selectBuild(store, ts, selector));
  const record = await selectRecord(store, ts, { kind: 'build', buildId });
  const file = record.files[path];
  if (!file) throw new HttpError(404, `build ${ts.train}/${ts.release}/${ts.series}/${buildId} has no output ${path}`);
  await sendFile(req, res, {
    digest: file.digest,
    size: file.size,
    modified: new Date(record.finishedAt),
    name: path,
    // Under a build id the bytes never change; under an alias they change when the alias moves.
    cacheControl: selector.kind === 'build' ? CACHE_IMMUTABLE : CACHE_MOVING,
    open: async (range) => (await openOutput(store, ts, buildId, path, range)).stream,
  });
}

/** Handles a mirror path; `ctx.json` picks JSON over HTML for pages. */
async function dispatch(req: Request, res: Response, ctx: PageContext, segments: string[], folder: boolean): Promise<void> {
  const { store } = ctx;
  const [train, release, series, selectorText, ...rest] = segments;
  if (train === undefined) return respond(res, await homePage(ctx));
  validateTrain(train);
  if (release === undefined) {
    if (!folder) return redirectToFolder(req, res);
    await requirePath(store, { train });
    return respond(res, await trainPage(ctx, train));
  }
  validateRelease(release);
  if (series === undefined) {
    if (!folder) return redirectToFolder(req, res);
    await requirePath(store, { train, release });
    return respond(res, await releasePage(ctx, train, release));
  }
  const ts = trainSeriesOf(train, release, series);
  if (selectorText === undefined) {
    if (!folder) return redirectToFolder(req, res);
    return respond(res, await seriesPage(ctx, ts, pageParams(req)));
  }
  if (rest.length === 0 && !folder) {
    if (selectorText === 'history' || selectorText === 'diff') {
      await requirePath(store, ts);
      if (selectorText === 'history') return respond(res, await historyPage(ctx, ts));
      return respond(res, await diffPage(ctx, ts, queryParam(req, 'from', 64), queryParam(req, 'to', 64)));
    }
    if (selectorText === 'latest_build' || selectorText === 'stable_build') {
      // The alias object itself: the build id as text, as `curl …/latest_build` expects.
      const id = await explainMissing(store, ts, () => selectBuild(store, ts, { kind: selectorText === 'latest_build' ? 'latest' : 'stable' }));
      res.set('Cache-Control', res.get('Cache-Control') ?? CACHE_MOVING).type('text/plain; charset=utf-8').send(`${id}\n`);
      return;
    }
  }
  const selector = viewSelector(selectorText);
  if (!selector) throw new HttpError(404, `no such page: ${selectorText} is not a build id, latest_build or stable_build`);
  if (rest.length === 0) {
    if (!folder) return redirectToFolder(req, res);
    return respond(res, buildPage(ctx, await buildView(store, ts, selectorText, selector)));
  }
  const [first, ...inner] = rest as [string, ...string[]];
  if (first === 'build.json' && inner.length === 0 && !folder) {
    const record = await selectRecord(store, ts, selector);
    res.set('Cache-Control', res.get('Cache-Control') ?? (selector.kind === 'build' ? CACHE_IMMUTABLE : CACHE_MOVING));
    res.type('application/json').send(serialiseBuildRecord(record));
    return;
  }
  if (first !== 'outputs') throw new HttpError(404, `no such page: a build folder holds build.json and outputs/`);
  if (inner.length === 0 && !folder) return redirectToFolder(req, res);
  if (folder) {
    const sub = inner.length === 0 ? '' : `${validateOutputPath(inner.join('/'))}/`;
    return respond(res, outputsPage(ctx, await buildView(store, ts, selectorText, selector), sub));
  }
  await serveOutput(req, res, store, ts, selector, inner.join('/'));
}

function firstSegment(path: string): string {
  const raw = path.slice(1).split('/')[0] ?? '';
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * Decides whether a request is the mirror's. Paths under a reserved top-level name leave the
 * router (`next('router')`), so the controller's own routes mounted beside it answer them.
 */
export function claimMirrorPath(): RequestHandler {
  return (req, res, next) => {
    // Looked at before any validation: the mirror has no say over how the controller's URLs look.
    if (isReservedTopName(firstSegment(req.path))) return next('router');
    const parsed = splitPath(req.path);
    const first = parsed.segments[0];
    // Browsers ask for it on every page; the mirror has none, and says so without a 404 per click.
    if (first === 'favicon.ico' && parsed.segments.length === 1) return void res.status(204).end();
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'the mirror is read-only', { Allow: 'GET, HEAD' });
    res.locals['mirrorPath'] = parsed;
    next();
  };
}

/** Serves a path claimMirrorPath accepted (and the read guard let through). */
export function viewHandler(store: MirrorStore, options: ViewOptions): RequestHandler {
  return async (req: Request, res: Response) => {
    const { segments, folder } = res.locals['mirrorPath'] as SplitPath;
    const host = req.get('host') ?? 'localhost';
    const ctx: PageContext = {
      store,
      brand: options.brand,
      base: req.baseUrl,
      absolute: `${req.protocol}://${host}${req.baseUrl}`,
      now: new Date(),
      json: wantsJson(req),
    };
    await dispatch(req, res, ctx, segments, folder);
  };
}
