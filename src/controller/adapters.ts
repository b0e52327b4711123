// The adapters a configuration calls for: the upstream repository, the index fetchers (one for
// builds, one that only probes for the change watch), the rockcraft builder, the registry, and
// probes of the tools. Rebuilt on every reload; jobs already running keep the ones they started with.
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { MirrorStore } from '../../mirror/stores/store.js';
import { IndexFetcher } from '../archive/fetch-index.js';
import { hostDebianArch } from '../build/host.js';
import { RockcraftBuilder } from '../build/rockcraft-builder.js';
import type { JujuClient } from '../deploy/juju.js';
import { UpstreamRocksRepo, type UpstreamLogEvent } from '../rocks/upstream.js';
import type { ControllerConfig } from './config.js';
import type { ExecutorServices } from './executor.js';
import { ToolProbe } from './health.js';
import type { WatchDeps } from './watch.js';

export interface AdapterOptions {
  store: MirrorStore;
  juju: JujuClient;
  logger: Logger;
  now: () => Date;
  env?: NodeJS.ProcessEnv;
  arch?: string;
  onUpstream?: (event: UpstreamLogEvent) => void;
}

export interface Adapters {
  executor: ExecutorServices;
  watch: WatchDeps;
  builderProbe: ToolProbe;
  jujuProbe: ToolProbe;
}

export function createAdapters(config: ControllerConfig, options: AdapterOptions): Adapters {
  const arch = options.arch ?? hostDebianArch();
  const builder = new RockcraftBuilder({ executable: config.builder.rockcraft, workRoot: join(config.dataDir, 'work', 'tmp'), packArgs: config.builder.packArgs, env: options.env ?? process.env });
  const upstream = new UpstreamRocksRepo({
    url: config.upstream.url,
    cacheDir: config.cacheDir,
    offline: config.upstream.offline,
    log: (event) => {
      options.logger.debug({ git: event.op, detail: event.detail }, 'upstream');
      options.onUpstream?.(event);
    },
  });
  return {
    executor: {
      upstream,
      fetcher: new IndexFetcher({ cacheDir: config.cacheDir, offline: config.upstream.offline }),
      archives: config.archives,
      builder,
      store: options.store,
      ...(config.registry ? { registry: { target: config.registry } } : {}),
      workRoot: join(config.dataDir, 'work'),
      rocksPerBuild: config.concurrency.rocksPerBuild,
      timeoutMs: config.builder.timeoutMs,
      arch,
    },
    watch: {
      upstream,
      // Its cache holds only the validators last seen per InRelease (see watch.ts).
      prober: new IndexFetcher({ cacheDir: join(config.dataDir, 'controller', 'watch-cache'), retries: 1 }),
      archives: config.archives,
      arch,
      now: options.now,
    },
    builderProbe: new ToolProbe(() => builder.version()),
    jujuProbe: new ToolProbe(() => options.juju.version()),
  };
}
