// The pages of one series: its builds (the directory listing of the series folder, paginated), its
// build history chart, and the package diff between two of its builds.
import { buildIdToDate, formatTrainSeries, type TrainSeries } from '../layout.js';
import { resolveRef, showBuild } from '../query.js';
import { diffBuilds, type RockDiff } from './diff.js';
import { HttpError } from './errors.js';
import { badges, formatAge, formatBytes, html, type Html } from './html.js';
import { historyChart } from './chart.js';
import { crumbsFor, link, renderPage, type PageContext, type Rendered } from './pages.js';
import type { PageParams } from './params.js';
import { viewPath, type ListedBuild } from './protocol.js';
import { buildsBody, listedBuilds, seriesMarks } from './series-data.js';

const count = (b: ListedBuild, outcome: string) => b.rocks.filter((r) => r.outcome === outcome).length;

export async function seriesPage(ctx: PageContext, ts: TrainSeries, params: PageParams): Promise<Rendered> {
  const body = await buildsBody(ctx.store, ts, params);
  if (ctx.json) return { json: body };
  const here = link(ctx, viewPath.series(ts));
  const rows = body.builds.map(
    (b) => html`<tr data-build="${b.buildId}"><td><a class="build" href="${link(ctx, viewPath.build(ts, b.buildId))}">${b.buildId}</a> ${badges(b.aliases)}</td>
<td class="${b.result}">${b.result}</td><td title="${b.startedAt}">${formatAge(buildIdToDate(b.buildId), ctx.now)}</td><td class="num">${formatBytes(b.size)}</td>
<td class="num">${count(b, 'built')}</td><td class="num">${count(b, 'reused')}</td><td class="num">${count(b, 'failed')}</td></tr>`,
  );
  const alias = (name: 'latest' | 'stable', id: string | null) =>
    html`<li><a href="${link(ctx, viewPath.alias(ts, name))}">${name}_build</a> → ${id ? html`<a href="${link(ctx, viewPath.build(ts, id))}">${id}</a>` : html`<span class="muted">not set</span>`}</li>`;
  const older = body.next ? html`<p><a rel="next" href="${here}?before=${body.next}&amp;limit=${params.limit}">older builds →</a></p>` : '';
  const newer = params.before ? html`<p><a href="${here}">← newest builds</a></p>` : '';
  const content = html`<h1>${formatTrainSeries(ts)}</h1>
<ul class="plain">${alias('latest', body.latest)}${alias('stable', body.stable)}</ul>
<p><a href="${here}history">build history chart</a> · <a href="${here}diff">package diff between builds</a></p>
<h2>Builds <span class="muted">(${body.total})</span></h2>${newer}
<table class="builds"><thead><tr><th>build</th><th>result</th><th>age</th><th class="num">size</th><th class="num">built</th><th class="num">reused</th><th class="num">failed</th></tr></thead>
<tbody>${rows}</tbody></table>${older}`;
  return renderPage(ctx, formatTrainSeries(ts), crumbsFor(ctx, ts), content);
}

/** Builds shown in the chart and offered in the diff form: enough for a year of daily builds. */
const HISTORY_LIMIT = 400;

export async function historyPage(ctx: PageContext, ts: TrainSeries): Promise<Rendered> {
  const marks = await seriesMarks(ctx.store, ts);
  const recent = (await listedBuilds(ctx.store, ts, marks)).slice(0, HISTORY_LIMIT).reverse();
  if (ctx.json) return { json: { ...ts, builds: recent.map((b) => ({ buildId: b.buildId, result: b.result, startedAt: b.startedAt, finishedAt: b.finishedAt })) } };
  const ok = recent.filter((b) => b.result === 'success').length;
  const content = html`<h1>Build history of ${formatTrainSeries(ts)}</h1>
<p>${recent.length} builds${recent.length === HISTORY_LIMIT ? ' (the most recent)' : ''}: <span class="success">${ok} successful</span>, <span class="fail">${recent.length - ok} failed</span>.
Bar height is the build's duration; select a bar to open its build.</p>
${historyChart(recent, { href: (id) => link(ctx, viewPath.build(ts, id)) })}
<p><a href="${link(ctx, viewPath.series(ts))}">all builds</a> · <a href="${link(ctx, `${viewPath.series(ts)}diff`)}">package diff</a></p>`;
  return renderPage(ctx, `History of ${formatTrainSeries(ts)}`, crumbsFor(ctx, ts, [{ label: 'history' }]), content);
}

function rockSection(r: RockDiff): Html {
  const versions = r.fromVersion === r.toVersion ? r.toVersion : `${r.fromVersion ?? '–'} → ${r.toVersion ?? '–'}`;
  const image = r.fromImage !== r.toImage ? html`<br><span class="muted">image</span> <code>${r.fromImage ?? '–'}</code> → <code>${r.toImage ?? '–'}</code>` : '';
  const rows = r.packages.map((p) => html`<tr class="${p.change}"><td>${p.name}</td><td>${p.from ?? '–'}</td><td>${p.to ?? '–'}</td><td>${p.change}</td></tr>`);
  const table = r.packagesUnknown
    ? html`<p class="muted">Neither build recorded this rock's packages.</p>`
    : r.packages.length === 0
      ? html`<p class="muted">No package changes.</p>`
      : html`<table class="packages"><thead><tr><th>package</th><th>from</th><th>to</th><th>change</th></tr></thead><tbody>${rows}</tbody></table>`;
  return html`<section class="rock-diff" data-rock="${r.rock}"><h3>${r.rock} <span class="muted">${r.arch}</span> — ${r.status}</h3><p>version ${versions ?? '–'}${image}</p>${table}</section>`;
}

export async function diffPage(ctx: PageContext, ts: TrainSeries, from: string | undefined, to: string | undefined): Promise<Rendered> {
  const marks = await seriesMarks(ctx.store, ts);
  const builds = (await listedBuilds(ctx.store, ts, marks)).slice(0, HISTORY_LIMIT);
  if (builds.length === 0) throw new HttpError(404, `${formatTrainSeries(ts)} has no builds to compare`);
  // Defaults: the latest build (else the newest) against the one before it.
  const toSel = to ?? marks.latest ?? builds[0]?.buildId ?? '';
  const toRes = await resolveRef(ctx.store, `${formatTrainSeries(ts)}/${toSel}`);
  const fromSel = from ?? builds.find((b) => b.buildId < toRes.buildId)?.buildId ?? toRes.buildId;
  const fromRes = await resolveRef(ctx.store, `${formatTrainSeries(ts)}/${fromSel}`);
  const [a, b] = [await showBuild(ctx.store, ts, fromRes.buildId), await showBuild(ctx.store, ts, toRes.buildId)];
  const diff = diffBuilds(a, b);
  if (ctx.json) return { json: { from: fromRes, to: toRes, ...diff } };
  const options = (selected: string) =>
    builds.map((o) => html`<option value="${o.buildId}"${o.buildId === selected ? html` selected` : ''}>${o.buildId} ${o.result}${o.aliases.length ? ` (${o.aliases.join(', ')})` : ''}</option>`);
  const changed = diff.rocks.filter((r) => r.status !== 'unchanged');
  const same = diff.rocks.filter((r) => r.status === 'unchanged').map((r) => r.rock);
  const content = html`<h1>Package diff of ${formatTrainSeries(ts)}</h1>
<form class="inline" method="get" action="${link(ctx, `${viewPath.series(ts)}diff`)}">
<label>from<select name="from">${options(fromRes.buildId)}</select></label><label>to<select name="to">${options(toRes.buildId)}</select></label><button type="submit">compare</button></form>
<h2>${html`<a href="${link(ctx, viewPath.build(ts, fromRes.buildId))}">${fromRes.buildId}</a>`} → ${html`<a href="${link(ctx, viewPath.build(ts, toRes.buildId))}">${toRes.buildId}</a>`}</h2>
<p class="summary">${diff.counts.changed} changed, ${diff.counts.added} added, ${diff.counts.removed} removed package versions across ${changed.length} of ${diff.rocks.length} rocks.</p>
${fromRes.buildId === toRes.buildId ? html`<p class="muted">Both sides are the same build.</p>` : ''}
${changed.map(rockSection)}
${same.length > 0 ? html`<p class="muted">Unchanged: ${same.join(', ')}</p>` : ''}`;
  return renderPage(ctx, `Diff of ${formatTrainSeries(ts)}`, crumbsFor(ctx, ts, [{ label: 'package diff' }]), content);
}
