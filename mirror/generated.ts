// The files the mirror writes into every build's outputs/ itself, in the StarlingX tradition:
// BUILD_RESULT and CONTEXT are plain `key: value` lines a person can read and a shell can grep;
// SHA256SUMS is exactly what `sha256sum -c` expects when run inside outputs/. Pure functions.
import type { BuildRecord } from './build-record.js';
import { digestHex } from './layout.js';

export const BUILD_RESULT = 'BUILD_RESULT';
export const CONTEXT = 'CONTEXT';
export const SHA256SUMS = 'SHA256SUMS';
/** Paths the mirror generates; a staged build may not supply them. */
export const GENERATED_PATHS: readonly string[] = [BUILD_RESULT, CONTEXT, SHA256SUMS];

export type BuildMetadata = Omit<BuildRecord, 'schema' | 'files'>;

function lines(pairs: readonly (readonly [string, string | number])[]): string {
  return pairs.map(([k, v]) => `${k}: ${String(v)}\n`).join('');
}

export function renderBuildResult(meta: BuildMetadata): string {
  const count = (outcome: string) => meta.rocks.filter((r) => r.outcome === outcome).length;
  const pairs: [string, string | number][] = [
    ['result', meta.result],
    ['build-id', meta.buildId],
    ['train', meta.train],
    ['release', meta.release],
    ['series', meta.series],
    ['started', meta.startedAt],
    ['finished', meta.finishedAt],
    ['rocks-built', count('built')],
    ['rocks-reused', count('reused')],
    ['rocks-failed', count('failed')],
    ['rocks-skipped', count('skipped')],
  ];
  for (const rock of meta.rocks) {
    const detail = [rock.outcome, rock.failureClass, rock.reusedFrom && `from ${rock.reusedFrom}`, rock.image?.digest].filter(Boolean).join(' ');
    pairs.push([`rock ${rock.name}_${rock.version}_${rock.arch}`, detail]);
  }
  return lines(pairs);
}

/** Everything that decided the bytes, one fact per line; lists repeat their key, sorted where order does not matter. */
export function renderContext(meta: BuildMetadata): string {
  const c = meta.context;
  const pairs: [string, string][] = [
    ['train', meta.train],
    ['release', meta.release],
    ['series', meta.series],
    ['build-id', meta.buildId],
    ['upstream-repo', c.upstream.repo],
    ['upstream-commit', c.upstream.commit],
    ['branch', c.branch],
    ['pocket', c.pocket],
    ...c.ppas.map((p): [string, string] => ['ppa', p]),
    ...c.patches.map((p): [string, string] => ['patch', `${p.name} ${p.digest}`]),
    ['builder-version', c.builderVersion],
    ['arch', c.arch],
  ];
  if (c.buildKey) pairs.push(['build-key', c.buildKey]);
  for (const [name, version] of Object.entries(c.packages).sort(([a], [b]) => (a < b ? -1 : 1))) {
    pairs.push(['package', `${name}=${version}`]);
  }
  for (const rock of meta.rocks) pairs.push([`rock-build-key ${rock.name}_${rock.arch}`, rock.buildKey]);
  return lines(pairs);
}

/** `sha256sum` format: `<hex>  <path>`, sorted by path. */
export function renderSha256Sums(files: readonly { path: string; digest: string }[]): string {
  return [...files]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((f) => `${digestHex(f.digest)}  ${f.path}\n`)
    .join('');
}

/** Reads a SHA256SUMS file back into path → `sha256:<hex>`. */
export function parseSha256Sums(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const row of text.split('\n')) {
    if (row === '') continue;
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(row);
    if (!m?.[1] || !m[2]) throw new Error(`malformed SHA256SUMS line: ${JSON.stringify(row)}`);
    out.set(m[2], `sha256:${m[1]}`);
  }
  return out;
}
