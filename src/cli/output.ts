// Rendering for the CLI: aligned plain-text tables for people, JSON for machines. Every listing
// command takes --json and prints exactly one JSON document on stdout.
import type { Writable } from 'node:stream';

export interface Column<T> {
  header: string;
  value: (row: T) => string;
}

export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((row) => columns.map((c) => c.value(row)));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header.toUpperCase())), ...cells.map(line)].join('\n') + '\n';
}

export interface Output {
  json: boolean;
  stdout: Writable;
  stderr: Writable;
}

export function printJson(out: Output, value: unknown): void {
  out.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function printRows<T>(out: Output, rows: readonly T[], columns: readonly Column<T>[], json: (row: T) => unknown): void {
  if (out.json) printJson(out, rows.map(json));
  else out.stdout.write(renderTable(rows, columns));
}

/** Notes go to stderr so that stdout stays exactly the requested data. */
export function note(out: Output, message: string): void {
  out.stderr.write(`note: ${message}\n`);
}
