// Folder listings of a build's outputs/, computed from its file table: the StarlingX view has no
// folders of its own, only paths, so a folder is every path that starts with it. Pure.
import type { BuildRecord } from '../build-record.js';

export interface ListingEntry {
  name: string;
  type: 'file' | 'folder';
  /** Bytes of the file, or of everything under the folder. */
  size: number;
  /** Files only. */
  digest?: string;
  /** Files under a folder, recursively. */
  files?: number;
}

/** Entries directly under `folder` ('' for outputs/ itself, else ending in '/'); undefined when there is no such folder. */
export function listOutputs(record: BuildRecord, folder: string): ListingEntry[] | undefined {
  const files = new Map<string, ListingEntry>();
  const folders = new Map<string, ListingEntry>();
  for (const [path, file] of Object.entries(record.files)) {
    if (!path.startsWith(folder)) continue;
    const rest = path.slice(folder.length);
    const slash = rest.indexOf('/');
    if (slash < 0) {
      files.set(rest, { name: rest, type: 'file', size: file.size, digest: file.digest });
      continue;
    }
    const name = rest.slice(0, slash);
    const entry = folders.get(name) ?? { name, type: 'folder', size: 0, files: 0 };
    entry.size += file.size;
    entry.files = (entry.files ?? 0) + 1;
    folders.set(name, entry);
  }
  if (files.size === 0 && folders.size === 0 && folder !== '') return undefined;
  const byName = (a: ListingEntry, b: ListingEntry) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  // Folders first, as a file manager shows them.
  return [...[...folders.values()].sort(byName), ...[...files.values()].sort(byName)];
}
