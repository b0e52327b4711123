// The charm's entry point: every hook (and action) Juju runs lands here. The hook comes from
// JUJU_ACTION_NAME, JUJU_HOOK_NAME or JUJU_DISPATCH_PATH. Configuration hooks render the controller
// configuration, write it only when it changed, and keep the systemd service in step with it.
import { chmod, mkdir, readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runAction } from './actions.js';
import { HookTools } from './hook-tools.js';
import { ensurePackages } from './install.js';
import { METRICS_ENDPOINT, publishScrape } from './metrics.js';
import { appName, PEER_ENDPOINT, publishAddresses, readPeers, sharedSecrets } from './peers.js';
import { CharmConfigError, listenPort, renderControllerConfig, usesS3, type ControllerConfigDocument } from './render.js';
import { ensureService, restartNeeded, stopService, writeIfChanged } from './service.js';
import { reportControllerStatus } from './workload-status.js';

export const S3_ENDPOINT = 's3-credentials';
export const DEFAULT_DATA_DIR = '/var/lib/heliostat';
export const CONFIG_FILE_NAME = 'heliostat.yaml';
/** The bucket asked of the s3 provider. */
export const S3_BUCKET = 'heliostat';

/** Hooks after which the configuration and the service are brought up to date. */
const RECONCILE_HOOKS = new Set([
  'install',
  'start',
  'config-changed',
  'upgrade-charm',
  'leader-elected',
  'leader-settings-changed',
  'secret-changed',
  'update-status',
  `${S3_ENDPOINT}-relation-created`,
  `${S3_ENDPOINT}-relation-joined`,
  `${S3_ENDPOINT}-relation-changed`,
  `${S3_ENDPOINT}-relation-departed`,
  `${S3_ENDPOINT}-relation-broken`,
  ...['created', 'joined', 'changed', 'departed', 'broken'].map((e) => `${PEER_ENDPOINT}-relation-${e}`),
  ...['joined', 'changed', 'broken'].map((e) => `${METRICS_ENDPOINT}-relation-${e}`),
]);

export type Event = { kind: 'hook'; name: string } | { kind: 'action'; name: string };

export function eventFromEnv(env: NodeJS.ProcessEnv): Event | undefined {
  if (env['JUJU_ACTION_NAME']) return { kind: 'action', name: env['JUJU_ACTION_NAME'] };
  if (env['JUJU_HOOK_NAME']) return { kind: 'hook', name: env['JUJU_HOOK_NAME'] };
  const path = env['JUJU_DISPATCH_PATH'];
  if (path) return { kind: path.startsWith('actions/') ? 'action' : 'hook', name: basename(path) };
  return undefined;
}

export interface CharmContext {
  env: NodeJS.ProcessEnv;
  tools: HookTools;
  charmDir: string;
  dataDir: string;
  unitDir: string;
  /** The controller's address for actions and status (default from the rendered listen address). */
  origin?: string;
}

function contextFromEnv(env: NodeJS.ProcessEnv): CharmContext {
  // dist/charm/main.js → the charm root two levels up, when Juju did not say.
  const here = dirname(fileURLToPath(import.meta.url));
  return {
    env,
    tools: new HookTools({ env }),
    charmDir: resolve(env['CHARM_DIR'] || env['JUJU_CHARM_DIR'] || join(here, '..', '..')),
    dataDir: resolve(env['HELIOSTAT_CHARM_DATA_DIR'] || DEFAULT_DATA_DIR),
    unitDir: resolve(env['HELIOSTAT_SYSTEMD_DIR'] || '/etc/systemd/system'),
    ...(env['HELIOSTAT_CHARM_API_URL'] ? { origin: env['HELIOSTAT_CHARM_API_URL'] } : {}),
  };
}

interface S3Relation {
  id: string;
  /** The provider application's databag (empty until it answers). */
  data: Record<string, string>;
}

async function s3Relation(ctx: CharmContext, hook: string): Promise<S3Relation | undefined> {
  const ids = await ctx.tools.relationIds(S3_ENDPOINT);
  // During relation-broken the relation may still be listed; it is gone for the charm's purposes.
  const gone = hook === `${S3_ENDPOINT}-relation-broken` ? ctx.env['JUJU_RELATION_ID'] : undefined;
  const id = ids.find((i) => i !== gone);
  if (id === undefined) return undefined;
  const app = ctx.env['JUJU_RELATION_ID'] === id && ctx.env['JUJU_REMOTE_APP'] ? ctx.env['JUJU_REMOTE_APP'] : await ctx.tools.relationList(id, true);
  if (typeof app !== 'string' || app === '') return { id, data: {} };
  return { id, data: await ctx.tools.relationGet(id, app, true) };
}

/** Asks the s3 provider for a bucket and credentials (both interface versions read these keys). */
async function requestS3(ctx: CharmContext, relation: S3Relation, leader: boolean): Promise<void> {
  if (!leader) return;
  await ctx.tools.relationSet(relation.id, { bucket: S3_BUCKET, 'requested-secrets': JSON.stringify(['access-key', 'secret-key']), 'lib-version': '1.0' }, true);
}

async function currentConfigText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** The secret ids the configuration refers to, read before the (synchronous) render. */
async function readSecrets(ctx: CharmContext, options: Record<string, unknown>, relation: S3Relation | undefined): Promise<Map<string, Record<string, string> | Error>> {
  const ids = new Set<string>();
  for (const option of ['juju-credentials', 'kubeconfig', 'registry-credentials', 'api-token']) {
    const v = options[option];
    if (typeof v === 'string' && v.trim() !== '') ids.add(v.trim());
  }
  const extra = relation?.data['secret-extra'];
  if (extra) ids.add(extra);
  const out = new Map<string, Record<string, string> | Error>();
  for (const id of ids) {
    try {
      out.set(id, await ctx.tools.secretGet(id));
    } catch (error) {
      out.set(id, error instanceof Error ? error : new Error(String(error)));
    }
  }
  return out;
}

/** What the operator still has to give before attaching can work (the service runs meanwhile). */
function missingForAttach(document: ControllerConfigDocument): string | undefined {
  if (!(document.trains ?? []).some((t) => t.attach)) return undefined;
  if (!document.juju?.dataDir) return 'attach is on but juju-credentials is not set: juju add-secret, grant it to heliostat, then juju config heliostat juju-credentials=secret:...';
  if (!document.kubeconfig) return 'attach is on but kubeconfig is not set: juju add-secret, grant it to heliostat, then juju config heliostat kubeconfig=secret:...';
  return undefined;
}

/** Renders the configuration and brings the service in line; shares what peers need; sets the workload status. */
export async function applyConfig(ctx: CharmContext, hook: string): Promise<void> {
  const { tools, env } = ctx;
  const leader = await tools.isLeader();
  const options = await tools.configGet();
  const port = listenPort(options);
  const relation = await s3Relation(ctx, hook);
  if (relation && (hook === `${S3_ENDPOINT}-relation-joined` || hook === `${S3_ENDPOINT}-relation-created`)) await requestS3(ctx, relation, leader);
  const peers = await readPeers(tools, env, hook);
  const address = await tools.ingressAddress(PEER_ENDPOINT).catch(() => undefined);
  await mkdir(ctx.dataDir, { recursive: true, mode: 0o750 });
  await chmod(ctx.dataDir, 0o750);
  const shared = await sharedSecrets(tools, peers, leader, ctx.dataDir);
  await publishAddresses(tools, peers, env, leader, address, port);
  const addresses = [...Object.values(peers?.addresses ?? {}), ...(address ? [address] : [])];
  const unit = env['JUJU_UNIT_NAME'] ?? '';
  const topology = { model: env['JUJU_MODEL_NAME'] ?? '', modelUuid: env['JUJU_MODEL_UUID'] ?? '', application: appName(env), unit };
  await publishScrape(tools, { hook, ...(env['JUJU_RELATION_ID'] ? { relationId: env['JUJU_RELATION_ID'] } : {}), leader, ...(address ? { address } : {}), addresses, port, topology });
  const secrets = await readSecrets(ctx, options, relation);

  let rendered;
  try {
    rendered = renderControllerConfig({
      options,
      ...(relation ? { s3: relation.data } : {}),
      secretGet: (id) => {
        const content = secrets.get(id);
        if (content === undefined) throw new Error('not read');
        if (content instanceof Error) throw content;
        return content;
      },
      dataDir: ctx.dataDir,
      leader,
      shared,
    });
  } catch (error) {
    if (!(error instanceof CharmConfigError)) throw error;
    await tools.log(`configuration not applied: ${error.message}`, 'WARNING');
    await tools.statusSet('blocked', error.message);
    return;
  }

  let changed = false;
  for (const [file, content] of Object.entries(rendered.files)) changed = (await writeIfChanged(file, content, 0o600)) || changed;
  const configFile = join(ctx.dataDir, CONFIG_FILE_NAME);
  const before = await currentConfigText(configFile);
  changed = (await writeIfChanged(configFile, rendered.text, 0o600)) || changed;
  if (before !== undefined && before !== rendered.text) await tools.log(`rendered ${configFile}`, 'INFO');

  const restart = before !== undefined && restartNeeded(before, rendered.text);
  const calls = await ensureService({ charmDir: ctx.charmDir, configFile, unitDir: ctx.unitDir, node: process.execPath, dataDir: ctx.dataDir }, changed, undefined, restart);
  if (calls.length > 0) {
    await tools.statusSet('maintenance', 'starting the controller service');
    await tools.log(`systemctl ${calls.map((c) => c.join(' ')).join('; ')}`, 'DEBUG');
  }
  await tools.openPort(port);

  if (relation && !usesS3(rendered.document)) {
    await tools.statusSet('waiting', 'waiting for s3 credentials from the s3-credentials relation');
    return;
  }
  const missing = missingForAttach(rendered.document);
  if (missing) {
    await tools.statusSet('blocked', missing);
    return;
  }
  await reportControllerStatus({ tools, configFile, ...(ctx.origin ? { origin: ctx.origin } : {}), store: usesS3(rendered.document) ? 's3' : 'local', port });
}

export async function runEvent(ctx: CharmContext, event: Event): Promise<void> {
  if (event.kind === 'action') {
    await runAction(event.name, { tools: ctx.tools, configFile: join(ctx.dataDir, CONFIG_FILE_NAME), ...(ctx.origin ? { origin: ctx.origin } : {}) });
    return;
  }
  if (event.name === 'stop' || event.name === 'remove') {
    await stopService();
    return;
  }
  if (event.name === 'install' || event.name === 'upgrade-charm') {
    await ctx.tools.statusSet('maintenance', 'installing what builds and publishing need');
    await ensurePackages(ctx.tools, await ctx.tools.configGet());
  }
  if (RECONCILE_HOOKS.has(event.name)) await applyConfig(ctx, event.name);
}

async function main(): Promise<void> {
  const env = process.env;
  const event = eventFromEnv(env);
  if (!event) {
    process.stderr.write('heliostat charm: no JUJU_HOOK_NAME, JUJU_ACTION_NAME or JUJU_DISPATCH_PATH\n');
    process.exit(2);
  }
  await runEvent(contextFromEnv(env), event);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(`heliostat charm: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
