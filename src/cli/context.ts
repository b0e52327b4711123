// Builds the adapters a command needs from the resolved settings.
import type { Writable } from 'node:stream';
import { UpstreamRocksRepo } from '../rocks/upstream.js';
import type { Settings } from './settings.js';

export function openUpstream(settings: Settings, stderr: Writable): UpstreamRocksRepo {
  return new UpstreamRocksRepo({
    url: settings.rocksRepo,
    cacheDir: settings.cacheDir,
    offline: settings.offline,
    log: settings.verbose ? (e) => stderr.write(`git ${e.op} ${e.detail}\n`) : undefined,
  });
}
