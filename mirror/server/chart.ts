// The build history of a series as an inline SVG: one bar per build at its start time, as tall as
// the build took, green for success and red for failure, each bar a link to its build. Static
// markup, so it needs no script and reads the same in a text browser (every bar has a <title>, and
// the page also prints the numbers). Pure.
import { buildIdToDate } from '../layout.js';
import type { IndexEntry } from '../series-index.js';
import { html, type Html } from './html.js';

export interface ChartOptions {
  width?: number;
  height?: number;
  /** Link of one build's page. */
  href: (buildId: string) => string;
}

const PAD = { left: 44, right: 12, top: 12, bottom: 26 };

const minutes = (e: IndexEntry) => Math.max(0, (Date.parse(e.finishedAt) - Date.parse(e.startedAt)) / 60_000);
const day = (d: Date) => d.toISOString().slice(0, 10);

/** `builds` ascending by id (= by start time). */
export function historyChart(builds: readonly IndexEntry[], options: ChartOptions): Html {
  if (builds.length === 0) return html`<p class="muted">No builds yet.</p>`;
  const width = options.width ?? 720;
  const height = options.height ?? 220;
  const plotW = width - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  const times = builds.map((b) => buildIdToDate(b.buildId).getTime());
  const [t0, t1] = [Math.min(...times), Math.max(...times)];
  const span = t1 - t0;
  const maxMin = Math.max(1, ...builds.map(minutes));
  // Bars never overlap into a blur: at most as wide as an even share of the plot.
  const barW = Math.max(2, Math.min(14, (plotW / Math.max(1, builds.length)) * 0.7));
  const x = (t: number) => PAD.left + (span === 0 ? plotW / 2 : ((t - t0) / span) * (plotW - barW)) + (span === 0 ? -barW / 2 : 0);
  const bars = builds.map((b, i) => {
    const h = Math.max(2, (minutes(b) / maxMin) * plotH);
    const label = `${b.buildId}: ${b.result}, ${Math.round(minutes(b))} min`;
    return html`<a href="${options.href(b.buildId)}"><rect class="${b.result}" data-build="${b.buildId}" x="${x(times[i] ?? t0).toFixed(1)}" y="${(PAD.top + plotH - h).toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}"><title>${label}</title></rect></a>`;
  });
  const ok = builds.filter((b) => b.result === 'success').length;
  const summary = `${builds.length} builds, ${ok} successful, ${builds.length - ok} failed`;
  const axisY = PAD.top + plotH;
  const ticks = span === 0 ? [t0] : [t0, t0 + span / 2, t1];
  return html`<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${`Build history: ${summary}`}">
<line x1="${PAD.left}" y1="${axisY}" x2="${width - PAD.right}" y2="${axisY}"/><line x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${axisY}"/>
<text x="${PAD.left - 6}" y="${PAD.top + 10}" text-anchor="end">${Math.round(maxMin)}m</text><text x="${PAD.left - 6}" y="${axisY}" text-anchor="end">0</text>
${ticks.map((t, i) => html`<text x="${(PAD.left + (span === 0 ? plotW / 2 : ((t - t0) / span) * plotW)).toFixed(1)}" y="${height - 8}" text-anchor="${i === 0 && span > 0 ? 'start' : i === ticks.length - 1 && span > 0 ? 'end' : 'middle'}">${day(new Date(t))}</text>`)}
${bars}</svg>`;
}
