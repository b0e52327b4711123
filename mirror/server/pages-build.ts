// The page of one build (what it was built from, its rocks with versions and image digests, its
// files, and the commands that fetch them) and the folder listings of its outputs/.
import { recordSize, type BuildRecord } from '../build-record.js';
import { formatTrainSeries, type TrainSeries } from '../layout.js';
import { isRockOutput } from '../pull-select.js';
import { HttpError } from './errors.js';
import { badges, formatBytes, html, shortDigest } from './html.js';
import { listOutputs } from './listing.js';
import { crumbsFor, link, renderPage, type PageContext, type Rendered } from './pages.js';
import { viewPath } from './protocol.js';

export interface BuildView {
  ts: TrainSeries;
  record: BuildRecord;
  /** As the URL named it: the build id, `latest_build` or `stable_build`. */
  selector: string;
  aliases: string[];
}

const duration = (r: BuildRecord) => `${Math.round((Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 60_000)} min`;

/** Quotes for a POSIX shell when needed, so a copied command works as pasted. */
const shellWord = (text: string) => (/^[A-Za-z0-9._:/@%+=,-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`);

export function buildPage(ctx: PageContext, view: BuildView): Rendered {
  const { ts, record, selector, aliases } = view;
  const id = record.buildId;
  if (ctx.json) return { json: { ...ts, buildId: id, aliases, record } };
  const c = record.context;
  const out = (path: string) => link(ctx, viewPath.output(ts, id, path));
  const rocks = record.rocks.map(
    (r) => html`<tr data-rock="${r.name}"><td>${r.name}</td><td>${r.version}</td><td>${r.arch}</td>
<td class="${r.outcome}">${r.outcome}${r.failureClass ? ` (${r.failureClass})` : ''}${r.reusedFrom ? html` from <a href="${link(ctx, viewPath.build(ts, r.reusedFrom))}">${r.reusedFrom}</a>` : ''}</td>
<td>${r.image ? html`<code class="image-ref">${r.image.ref}</code><br><code class="digest">${r.image.digest}</code>` : html`<span class="muted">not pushed</span>`}</td></tr>`,
  );
  const paths = Object.keys(record.files).sort();
  const files = paths.map((p) => {
    const f = record.files[p];
    return html`<tr><td><a href="${out(p)}">${p}</a></td><td class="num">${formatBytes(f?.size ?? 0)}</td><td>${shortDigest(f?.digest ?? '')}</td></tr>`;
  });
  const absolute = (path: string) => `${ctx.absolute}/${viewPath.output(ts, id, path)}`;
  const ref = `${formatTrainSeries(ts)}/${id}`;
  const commands: string[] = [];
  for (const r of record.rocks) {
    for (const p of paths.filter((path) => isRockOutput(path, r.name) && path.endsWith('.rock'))) commands.push(`curl -fO ${shellWord(absolute(p))}`);
  }
  commands.push(`heliostat mirror pull ${ref} -o ${shellWord(id)} --mirror ${shellWord(`${ctx.absolute}/`)}`);
  for (const r of record.rocks) {
    if (r.image) commands.push(`skopeo copy ${shellWord(`docker://${r.image.ref}`)} ${shellWord(`oci-archive:${r.name}_${r.version}_${r.arch}.rock`)}`);
  }
  const facts: [string, string][] = [
    ['result', record.result],
    ['started', record.startedAt],
    ['finished', `${record.finishedAt} (${duration(record)})`],
    ['upstream', `${c.upstream.repo} @ ${c.upstream.commit}`],
    ['branch', c.branch],
    ['pocket', c.pocket],
    ['PPAs', c.ppas.join(' ') || '–'],
    ['patches', c.patches.map((p) => p.name).join(' ') || '–'],
    ['builder', `${c.builderVersion} (${c.arch})`],
    ['build key', c.buildKey ?? '–'],
    ['files', `${paths.length} (${formatBytes(recordSize(record))})`],
  ];
  const series = link(ctx, viewPath.series(ts));
  const body = html`<h1>${ref} ${badges(aliases)}</h1>
${selector !== id ? html`<p class="muted">${selector} names this build today; its permanent address is <a href="${link(ctx, viewPath.build(ts, id))}">${id}/</a>.</p>` : ''}
<dl class="facts">${facts.map(([k, v]) => html`<dt>${k}</dt><dd class="${k === 'result' ? v : ''}">${v}</dd>`)}</dl>
<p><a href="${series}history">build history</a> · <a href="${series}diff?to=${id}">package diff with the previous build</a> · <a href="${link(ctx, viewPath.build(ts, id))}outputs/">outputs/</a> · <a href="${link(ctx, viewPath.build(ts, id))}build.json">build.json</a></p>
<h2>Rocks</h2><table class="rocks"><thead><tr><th>rock</th><th>version</th><th>arch</th><th>outcome</th><th>image</th></tr></thead><tbody>${rocks}</tbody></table>
<h2>Files</h2><table class="files"><thead><tr><th>path</th><th class="num">size</th><th>sha256</th></tr></thead><tbody>${files}</tbody></table>
<h2>Fetch</h2><pre class="commands">${commands.join('\n')}</pre>`;
  return renderPage(ctx, ref, crumbsFor(ctx, ts, [{ label: id }]), body);
}

/** `folder` is '' for outputs/ itself, else a path ending in '/'. */
export function outputsPage(ctx: PageContext, view: BuildView, folder: string): Rendered {
  const { ts, record, selector } = view;
  const entries = listOutputs(record, folder);
  if (!entries) throw new HttpError(404, `build ${formatTrainSeries(ts)}/${record.buildId} has no folder outputs/${folder}`);
  if (ctx.json) return { json: { ...ts, buildId: record.buildId, path: `outputs/${folder}`, entries } };
  const here = (name: string) => link(ctx, viewPath.output(ts, selector, `${folder}${name}`));
  const rows = entries.map((e) =>
    e.type === 'folder'
      ? html`<tr><td><a href="${here(e.name)}/">${e.name}/</a></td><td class="num">${formatBytes(e.size)}</td><td class="muted">${e.files} files</td></tr>`
      : html`<tr><td><a href="${here(e.name)}">${e.name}</a></td><td class="num">${formatBytes(e.size)}</td><td>${shortDigest(e.digest ?? '')}</td></tr>`,
  );
  const up = folder === '' ? link(ctx, viewPath.build(ts, selector)) : here('').replace(/[^/]+\/$/, '');
  const title = `${formatTrainSeries(ts)}/${selector}/outputs/${folder}`;
  const body = html`<h1>Index of ${title}</h1><table class="listing"><thead><tr><th>name</th><th class="num">size</th><th></th></tr></thead>
<tbody><tr><td><a href="${up}">../</a></td><td></td><td></td></tr>${rows}</tbody></table>`;
  return renderPage(ctx, title, crumbsFor(ctx, ts, [{ label: selector, href: link(ctx, viewPath.build(ts, selector)) }, { label: `outputs/${folder}` }]), body);
}
