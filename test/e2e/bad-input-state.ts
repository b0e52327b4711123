// A snapshot of everything a bad input must leave alone: the mirror stores (every object of the fs
// tree and of the S3 bucket, with its content hash or ETag), the registry (every tag of every
// repository and the digest it points at), the model (the juju stand-in's state file and the pods
// of the Kubernetes stand-in) and the configuration files (controller config, the charm's rendered
// config and unit, the controller's data, the hook-tool state). Two snapshots compare with
// toEqual, key by key, so a failing case names exactly what moved.
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Client } from 'minio';
import { readHookState } from '../fixtures/hook-tools/standin.js';
import { manifestDigestOverHttp, type TestRegistry } from '../fixtures/registry.js';

export type Snapshot = Record<string, string>;

export interface S3Bucket {
  client: Client;
  bucket: string;
}

export interface StateSources {
  /** Files and folders compared byte for byte (mirror trees, config files, data folders). */
  paths?: Record<string, string>;
  s3?: Record<string, S3Bucket>;
  registry?: TestRegistry;
  /** Base URL of the Kubernetes stand-in and the namespace whose pods are listed. */
  kube?: { url: string; namespace: string };
  /**
   * Hook-tool state files. Each hook appends its status, log lines and tool calls by design, and
   * the config is the input under test; the rest (systemctl calls, ports, relation data, secrets,
   * version) is what a refused configuration must not touch.
   */
  hookStates?: Record<string, string>;
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

async function walk(label: string, root: string, into: Snapshot): Promise<void> {
  let info;
  try {
    info = await lstat(root);
  } catch {
    into[`${label}`] = 'missing';
    return;
  }
  const visit = async (path: string, kind: typeof info): Promise<void> => {
    const key = `${label}:${relative(root, path) || '.'}`;
    if (kind.isSymbolicLink()) into[key] = `symlink ${await readlink(path)}`;
    else if (kind.isFile()) into[key] = `file ${kind.mode.toString(8)} ${sha256(await readFile(path))}`;
    else if (kind.isDirectory()) {
      into[key] = 'dir';
      for (const name of (await readdir(path)).sort()) {
        const child = join(path, name);
        await visit(child, await lstat(child));
      }
    } else into[key] = 'other';
  };
  await visit(root, info);
}

async function s3Objects(label: string, { client, bucket }: S3Bucket, into: Snapshot): Promise<void> {
  if (!(await client.bucketExists(bucket))) {
    into[label] = 'no bucket';
    return;
  }
  const stream = client.listObjectsV2(bucket, '', true) as AsyncIterable<{ name?: string; etag?: string; size?: number }>;
  for await (const o of stream) if (o.name) into[`${label}:${o.name}`] = `${o.etag ?? ''} ${o.size ?? -1}`;
}

async function registryTags(registry: TestRegistry, into: Snapshot): Promise<void> {
  const get = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${registry.url}${path}`);
    if (!response.ok) throw new Error(`registry ${path}: HTTP ${response.status}`);
    return (await response.json()) as T;
  };
  const { repositories } = await get<{ repositories: string[] }>('/v2/_catalog?n=1000');
  for (const repo of repositories.sort()) {
    const { tags } = await get<{ tags: string[] | null }>(`/v2/${repo}/tags/list`);
    for (const tag of (tags ?? []).sort()) into[`registry:${repo}:${tag}`] = (await manifestDigestOverHttp(registry, repo, tag)) ?? 'missing';
  }
}

interface PodList {
  items: Array<{ metadata: { name: string }; spec: { containers: Array<{ name: string; image: string }> }; status?: { phase?: string; containerStatuses?: Array<{ name: string; imageID?: string; ready?: boolean }> } }>;
}

async function kubePods(kube: { url: string; namespace: string }, into: Snapshot): Promise<void> {
  const response = await fetch(`${kube.url}/api/v1/namespaces/${kube.namespace}/pods`);
  if (!response.ok) throw new Error(`pods: HTTP ${response.status}`);
  for (const pod of ((await response.json()) as PodList).items) {
    const running = Object.fromEntries((pod.status?.containerStatuses ?? []).map((c) => [c.name, `${c.imageID ?? ''} ready=${String(c.ready)}`]));
    for (const c of pod.spec.containers) into[`pod:${pod.metadata.name}:${c.name}`] = `${c.image} ${running[c.name] ?? ''} ${pod.status?.phase ?? ''}`;
  }
}

function hookState(label: string, file: string, into: Snapshot): void {
  const { config: _input, statuses: _statuses, logs: _logs, calls: _calls, ...kept } = readHookState(file);
  into[label] = JSON.stringify(kept);
}

export async function snapshotState(sources: StateSources): Promise<Snapshot> {
  const into: Snapshot = {};
  for (const [label, path] of Object.entries(sources.paths ?? {})) await walk(label, path, into);
  for (const [label, bucket] of Object.entries(sources.s3 ?? {})) await s3Objects(label, bucket, into);
  if (sources.registry) await registryTags(sources.registry, into);
  if (sources.kube) await kubePods(sources.kube, into);
  for (const [label, file] of Object.entries(sources.hookStates ?? {})) hookState(label, file, into);
  return into;
}
