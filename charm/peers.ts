// The peer relation (heliostat-peers): the leader shares what every unit needs to render the same
// controller configuration — the API write token and the callback signing secret when the operator
// set none (generated once, kept in the application databag) — and who the leader is and where it
// answers; each unit publishes its own address. Without the relation (a lone unit before Juju
// created it) the leader keeps its generated values in a file of its data directory.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HookTools } from './hook-tools.js';
import type { SharedSecrets } from './render.js';
import { writeIfChanged } from './service.js';

export const PEER_ENDPOINT = 'heliostat-peers';

export interface PeerView {
  id: string;
  /** The application databag (written by the leader). */
  app: Record<string, string>;
  /** Addresses the units published, by unit name. */
  addresses: Record<string, string>;
}

export const appName = (env: NodeJS.ProcessEnv) => (env['JUJU_UNIT_NAME'] ?? 'heliostat/0').split('/')[0] ?? 'heliostat';

/** The peer relation as this unit sees it, or undefined before Juju created it (or while it breaks). */
export async function readPeers(tools: HookTools, env: NodeJS.ProcessEnv, hook: string): Promise<PeerView | undefined> {
  const gone = hook === `${PEER_ENDPOINT}-relation-broken` ? env['JUJU_RELATION_ID'] : undefined;
  const id = (await tools.relationIds(PEER_ENDPOINT)).find((i) => i !== gone);
  if (id === undefined) return undefined;
  const app = await tools.relationGet(id, appName(env), true);
  const units = await tools.relationList(id);
  const addresses: Record<string, string> = {};
  // relation-list names the other units; this unit's own databag is read as well.
  for (const unit of [...(Array.isArray(units) ? units : []), env['JUJU_UNIT_NAME'] ?? '']) {
    if (unit === '') continue;
    const address = (await tools.relationGet(id, unit))['address'];
    if (address) addresses[unit] = address;
  }
  return { id, app, addresses };
}

const generate = () => randomBytes(24).toString('hex');

/**
 * The shared values: from the peer databag; on the leader, created when missing and published.
 * A leader change keeps them (the new leader reads what the old one published).
 */
export async function sharedSecrets(tools: HookTools, peers: PeerView | undefined, leader: boolean, dataDir: string): Promise<SharedSecrets> {
  const fromPeer: SharedSecrets = { ...(peers?.app['api-token'] ? { apiToken: peers.app['api-token'] } : {}), ...(peers?.app['signing-secret'] ? { signingSecret: peers.app['signing-secret'] } : {}) };
  if (!leader) return fromPeer;
  const file = join(dataDir, 'charm-shared.json');
  let local: SharedSecrets = {};
  try {
    local = JSON.parse(await readFile(file, 'utf8')) as SharedSecrets;
  } catch {
    local = {};
  }
  const shared: Required<SharedSecrets> = { apiToken: fromPeer.apiToken ?? local.apiToken ?? generate(), signingSecret: fromPeer.signingSecret ?? local.signingSecret ?? generate() };
  await writeIfChanged(file, `${JSON.stringify(shared)}\n`, 0o600);
  if (peers && (peers.app['api-token'] !== shared.apiToken || peers.app['signing-secret'] !== shared.signingSecret)) {
    await tools.relationSet(peers.id, { 'api-token': shared.apiToken, 'signing-secret': shared.signingSecret }, true);
  }
  return shared;
}

/** Publishes this unit's address, and on the leader who leads and where its API answers. */
export async function publishAddresses(tools: HookTools, peers: PeerView | undefined, env: NodeJS.ProcessEnv, leader: boolean, address: string | undefined, port: number): Promise<void> {
  if (!peers || !address) return;
  const unit = env['JUJU_UNIT_NAME'] ?? '';
  if (peers.addresses[unit] !== address) {
    await tools.relationSet(peers.id, { address });
    peers.addresses[unit] = address;
  }
  const url = `http://${address}:${port}`;
  if (leader && (peers.app['leader-unit'] !== unit || peers.app['leader-url'] !== url)) await tools.relationSet(peers.id, { 'leader-unit': unit, 'leader-url': url }, true);
}
