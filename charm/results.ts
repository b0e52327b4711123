// Action results as Juju wants them: `action-set` keys are lower-case letters, digits and '-',
// dotted for nesting, values strings. A JSON answer is flattened into such keys (camelCase keys
// become kebab-case, list items their index), so `juju run` shows it as nested YAML.
const RESERVED = new Set(['stdout', 'stderr', 'stdout-encoding', 'stderr-encoding']);
const MAX_DEPTH = 6;

function segment(key: string): string {
  const kebab = key
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return kebab === '' ? 'x' : kebab;
}

/** Flattens a JSON value into action-set keys under `prefix`. */
export function flattenResult(value: unknown, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (v: unknown, key: string, depth: number): void => {
    if (v === null || v === undefined) return;
    if (depth >= MAX_DEPTH || typeof v !== 'object') {
      if (key === '') return;
      out[RESERVED.has(key) ? `${key}-value` : key] = typeof v === 'string' ? v : JSON.stringify(v);
      return;
    }
    const entries = Array.isArray(v) ? v.map((item, i) => [String(i), item] as const) : Object.entries(v);
    if (entries.length === 0 && key !== '') out[key] = Array.isArray(v) ? '[]' : '{}';
    for (const [k, item] of entries) walk(item, key === '' ? segment(k) : `${key}.${segment(k)}`, depth + 1);
  };
  walk(value, prefix, 0);
  return out;
}
