// An optional store capability: giving one object a second key that shares its bytes (a hard link
// on the filesystem store). The mirror uses it to materialise the browsable consumer view; stores
// without it serve that view by resolving through build.json instead.
import type { MirrorStore } from './store.js';

export interface LinkingStore extends MirrorStore {
  /** Makes `toKey` an object with the same bytes as `fromKey`, replacing `toKey` atomically. */
  linkObject(fromKey: string, toKey: string): Promise<void>;
}

export function canLink(store: MirrorStore): store is LinkingStore {
  return typeof (store as Partial<LinkingStore>).linkObject === 'function';
}
