// The adapters a configuration calls for: the upstream repository, the index fetchers (one for
// builds, one that only probes for the change watch), the rockcraft builder, the registry, and
// probes of the tools. Rebuilt on every reload; jobs already running keep the ones they started with.
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { MirrorStore } from '../../mirror/stores/store.js';
import { IndexFetcher } from '../archive/fetch-index.js';
import { hostDebianArch } from '../build/host.js';
import type { Builder } from '../build/builder.js';
import { KubeJobApi } from '../build/kube-job-api.js';
import { KubeJobBuilder, type StagingStore } from '../build/kube-job-builder.js';
import { RockcraftBuilder } from '../build/rockcraft-builder.js';
import { UnavailableBuilder } from '../build/unavailable-builder.js';
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
      ...(config.kubernetesTrains ? { kubernetesBuilder: kubernetesBuilder(config, options.store), kubernetesTrains: config.kubernetesTrains } : {}),
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

/** The Kubernetes Job builder of the configuration, or one that says why there is none. */
function kubernetesBuilder(config: ControllerConfig, store: MirrorStore): Builder {
  const kb = config.kubernetesBuilder;
  if (!kb) return new UnavailableBuilder('kubernetes', 'kubernetesBuilder is not configured');
  if (!isStagingStore(store)) return new UnavailableBuilder('kubernetes', `the mirror store ${store.location} cannot hand out upload URLs; it must be S3`);
  let api: KubeJobApi;
  try {
    api = KubeJobApi.fromKubeconfig(kb.kubeconfig, kb.context !== undefined ? { context: kb.context } : {});
  } catch (error) {
    return new UnavailableBuilder('kubernetes', error instanceof Error ? error.message : String(error));
  }
  return new KubeJobBuilder({
    api,
    store,
    namespace: kb.namespace,
    pod: {
      image: kb.image,
      imagePullPolicy: kb.imagePullPolicy,
      ...(kb.serviceAccount !== undefined ? { serviceAccount: kb.serviceAccount } : {}),
      nodeSelector: kb.nodeSelector,
      resources: kb.resources,
      privileged: kb.privileged,
      ttlSecondsAfterFinished: kb.ttlSecondsAfterFinished,
      packArgs: config.builder.packArgs.filter((a) => a !== '--destructive-mode'),
    },
    concurrency: kb.concurrency,
    stagingPrefix: kb.stagingPrefix,
    ...(kb.presignExpirySeconds !== undefined ? { presignExpirySeconds: kb.presignExpirySeconds } : {}),
    stuckGraceMs: kb.stuckGraceSeconds * 1000,
  });
}

function isStagingStore(store: MirrorStore): store is StagingStore {
  return typeof (store as Partial<StagingStore>).presignPut === 'function';
}
