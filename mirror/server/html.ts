// Server-side HTML without a framework. Every page is built with the `html` tag, which escapes
// each interpolated value unless it is already Html (built by the tag itself), so a train name, a
// log path or a package version can never become markup. Pages need no JavaScript: links, tables,
// inline SVG and plain GET forms.
import type { Response } from 'express';

export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export type HtmlValue = Html | string | number | boolean | null | undefined | readonly HtmlValue[];

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

function render(value: HtmlValue): string {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  // false/null/undefined render as nothing, so `cond && html\`…\`` reads naturally.
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): Html {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    out += render(v) + (strings[i + 1] ?? '');
  });
  return new Html(out);
}

// Small, readable, and light/dark aware; inline so a page is one request and needs no asset route.
const CSS = `
:root{color-scheme:light dark;--fg:#1d2125;--muted:#5f6b76;--bg:#fff;--line:#d9dee3;--ok:#1a7f37;--bad:#c62828;--accent:#0b5cad;--chip:#eef2f6}
@media (prefers-color-scheme:dark){:root{--fg:#e6e9ec;--muted:#9aa5b1;--bg:#15181b;--line:#2e3439;--accent:#6cb6ff;--chip:#23292e}}
body{font:15px/1.45 system-ui,sans-serif;color:var(--fg);background:var(--bg);margin:0 auto;max-width:72rem;padding:1rem 1.5rem 3rem}
a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
header{display:flex;gap:1rem;align-items:baseline;border-bottom:1px solid var(--line);padding-bottom:.5rem;margin-bottom:1rem}
header .brand{font-weight:600;color:var(--fg)}nav.crumbs a,nav.crumbs span{margin-right:.3rem}
h1{font-size:1.4rem;margin:.5rem 0 1rem}h2{font-size:1.1rem;margin:1.6rem 0 .6rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{text-align:left;padding:.3rem .6rem;border-bottom:1px solid var(--line);vertical-align:top}
th{font-weight:600;color:var(--muted);font-size:.85rem}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
code,pre{font:13px/1.4 ui-monospace,monospace}pre{background:var(--chip);padding:.6rem .8rem;overflow-x:auto;border-radius:4px}
.badge{display:inline-block;font-size:.75rem;padding:0 .45rem;border-radius:9px;background:var(--chip);margin-right:.25rem}
.badge.latest{background:#d6ecff;color:#0a3d6e}.badge.stable{background:#d9f2dd;color:#14532d}
.success{color:var(--ok)}.fail,.failed{color:var(--bad)}.muted{color:var(--muted)}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dl.facts dt{color:var(--muted)}dl.facts dd{margin:0}
form.inline{display:flex;gap:.6rem;align-items:end;flex-wrap:wrap}label{display:flex;flex-direction:column;font-size:.85rem;color:var(--muted)}
svg.chart{max-width:100%;height:auto;border:1px solid var(--line);border-radius:4px}
svg.chart rect.success{fill:var(--ok)}svg.chart rect.fail{fill:var(--bad)}svg.chart text{fill:var(--muted);font-size:11px}
svg.chart line{stroke:var(--line)}
ul.plain{list-style:none;margin:0 0 .6rem;padding:0}tr.changed td:last-child{color:var(--accent)}tr.added td:last-child{color:var(--ok)}tr.removed td:last-child{color:var(--bad)}
`;

export interface Crumb {
  label: string;
  href?: string;
}

export interface PageOptions {
  brand: string;
  /** Mount path of the router, so links work wherever the controller puts it. */
  base: string;
  title: string;
  crumbs: Crumb[];
  body: Html;
}

export function page(options: PageOptions): string {
  const crumbs = options.crumbs.map((c, i) => html`${i > 0 ? '/ ' : ''}${c.href ? html`<a href="${c.href}">${c.label}</a>` : html`<span>${c.label}</span>`} `);
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · ${options.brand}</title><style>${new Html(CSS)}</style></head>
<body><header><a class="brand" href="${options.base}/">${options.brand}</a><nav class="crumbs">${crumbs}</nav></header>
<main>${options.body}</main></body></html>
`.text;
}

// No script may run on a mirror page, whatever a record contains; styles are the inline sheet.
const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

export function sendPage(res: Response, body: string): void {
  res.set({ 'Content-Security-Policy': PAGE_CSP, 'Cache-Control': res.get('Cache-Control') ?? 'no-cache' });
  res.type('text/html; charset=utf-8').send(body);
}

export { formatAge, formatBytes } from '../format.js';

/** `sha256:0123456789ab…` for tables; the full digest stays in the title attribute. */
export function shortDigest(digest: string): Html {
  return html`<code class="digest" title="${digest}">${digest.slice(0, 19)}…</code>`;
}

export function badges(aliases: readonly string[]): Html {
  return html`${aliases.map((a) => html`<span class="badge ${a.startsWith('pin:') ? 'pin' : a}">${a}</span>`)}`;
}
