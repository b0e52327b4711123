// The browse pages above a series: every train, the releases of a train, the series of a release.
// Each is also the directory listing of its level of the StarlingX view, so a link on one page is
// the path a script would fetch; with `Accept: application/json` the same URL answers JSON.
import type { TrainSeries } from '../layout.js';
import { listBuilds, listReleases, listSeries, listTrains } from '../query.js';
import { readAlias } from '../series.js';
import type { MirrorStore } from '../stores/store.js';
import { html, page, type Crumb, type Html } from './html.js';
import { viewPath, type ReleasesBody, type SeriesBody, type TrainsBody } from './protocol.js';

export interface PageContext {
  store: MirrorStore;
  brand: string;
  /** Where the router is mounted (`''` at the root). */
  base: string;
  /** `scheme://host` plus base, for the absolute URLs of copy-paste commands. */
  absolute: string;
  now: Date;
  json: boolean;
}

export type Rendered = { json: unknown } | { html: string };

export const link = (ctx: PageContext, rel: string) => `${ctx.base}/${rel}`;

export function crumbsFor(ctx: PageContext, path: { train?: string; release?: string; series?: string }, tail: Crumb[] = []): Crumb[] {
  const out: Crumb[] = [];
  if (path.train) out.push({ label: path.train, href: link(ctx, `${encodeURIComponent(path.train)}/`) });
  if (path.train && path.release) out.push({ label: path.release, href: link(ctx, `${encodeURIComponent(path.train)}/${encodeURIComponent(path.release)}/`) });
  if (path.train && path.release && path.series) out.push({ label: path.series, href: link(ctx, viewPath.series(path as TrainSeries)) });
  return [...out, ...tail];
}

export function renderPage(ctx: PageContext, title: string, crumbs: Crumb[], body: Html): Rendered {
  return { html: page({ brand: ctx.brand, base: ctx.base, title, crumbs, body }) };
}

export async function homePage(ctx: PageContext): Promise<Rendered> {
  const trains = await listTrains(ctx.store);
  if (ctx.json) return { json: { trains } satisfies TrainsBody };
  const rows = await Promise.all(
    trains.map(async (train) => {
      const releases = await listReleases(ctx.store, train);
      const cells = await Promise.all(
        releases.map(async (release) => {
          const series = await listSeries(ctx.store, train, release);
          const links = series.map((s, i) => html`${i > 0 ? ', ' : ''}<a href="${link(ctx, viewPath.series({ train, release, series: s }))}">${s}</a>`);
          return html`<li><a href="${link(ctx, `${train}/${release}/`)}">${release}</a> <span class="muted">(${links})</span></li>`;
        }),
      );
      return html`<tr><td><a class="train" href="${link(ctx, `${train}/`)}">${train}</a></td><td><ul class="plain">${cells}</ul></td></tr>`;
    }),
  );
  const body = html`<h1>Trains</h1>
${trains.length === 0 ? html`<p class="muted">Nothing has been published to this mirror yet.</p>` : html`<table><thead><tr><th>train</th><th>releases (series)</th></tr></thead><tbody>${rows}</tbody></table>`}
<p class="muted">Machine-readable: <a href="${link(ctx, 'api/mirror/v1/trains')}">api/mirror/v1/trains</a></p>`;
  return renderPage(ctx, 'Trains', [{ label: 'trains' }], body);
}

export async function trainPage(ctx: PageContext, train: string): Promise<Rendered> {
  const releases = await listReleases(ctx.store, train);
  if (ctx.json) return { json: { train, releases } satisfies ReleasesBody };
  const rows = await Promise.all(
    releases.map(async (release) => {
      const series = await listSeries(ctx.store, train, release);
      const links = series.map((s, i) => html`${i > 0 ? ', ' : ''}<a href="${link(ctx, viewPath.series({ train, release, series: s }))}">${s}</a>`);
      return html`<tr><td><a href="${link(ctx, `${train}/${release}/`)}">${release}</a></td><td>${links}</td></tr>`;
    }),
  );
  const body = html`<h1>Train ${train}</h1><table><thead><tr><th>release</th><th>series</th></tr></thead><tbody>${rows}</tbody></table>`;
  return renderPage(ctx, train, crumbsFor(ctx, { train }), body);
}

export async function releasePage(ctx: PageContext, train: string, release: string): Promise<Rendered> {
  const names = await listSeries(ctx.store, train, release);
  const series = await Promise.all(
    names.map(async (s) => {
      const ts = { train, release, series: s };
      const [latest, stable, listing] = await Promise.all([readAlias(ctx.store, ts, 'latest'), readAlias(ctx.store, ts, 'stable'), listBuilds(ctx.store, ts)]);
      return { series: s, latest: latest ?? null, stable: stable ?? null, builds: listing.builds.length };
    }),
  );
  if (ctx.json) return { json: { train, release, series: series.map(({ builds: _b, ...s }) => s) } satisfies SeriesBody };
  const buildLink = (ts: TrainSeries, id: string | null) => (id ? html`<a href="${link(ctx, viewPath.build(ts, id))}">${id}</a>` : html`<span class="muted">–</span>`);
  const rows = series.map((s) => {
    const ts = { train, release, series: s.series };
    return html`<tr><td><a href="${link(ctx, viewPath.series(ts))}">${s.series}</a></td><td class="num">${s.builds}</td><td>${buildLink(ts, s.latest)}</td><td>${buildLink(ts, s.stable)}</td>
<td><a href="${link(ctx, `${viewPath.series(ts)}history`)}">history</a> · <a href="${link(ctx, `${viewPath.series(ts)}diff`)}">package diff</a></td></tr>`;
  });
  const body = html`<h1>${train} ${release}</h1><table><thead><tr><th>series</th><th class="num">builds</th><th>latest</th><th>stable</th><th></th></tr></thead><tbody>${rows}</tbody></table>`;
  return renderPage(ctx, `${train} ${release}`, crumbsFor(ctx, { train, release }), body);
}
