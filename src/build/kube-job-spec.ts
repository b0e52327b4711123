// The Kubernetes objects of one rock build, built without I/O: a ConfigMap with the build
// directory's files, a Secret with the presigned upload URL, and a Job whose one pod copies the
// files into a work directory, runs `rockcraft pack --destructive-mode`, PUTs the .rock to the
// staging object and reports its digest as the container's termination message. The store's keys
// never appear here: the pod only ever holds a presigned URL for one object, and that URL lives
// in a Secret, never in the Job, the pod spec or the ConfigMap.
import { createHash } from 'node:crypto';
import type { V1ConfigMap, V1Job, V1OwnerReference, V1Secret } from '@kubernetes/client-node';

export const LABELS = {
  buildId: 'heliostat.io/build-id',
  rock: 'heliostat.io/rock',
  key: 'heliostat.io/key',
  managedBy: 'app.kubernetes.io/managed-by',
} as const;
/** Where the Job records the staging object it uploads to (read back when re-attaching). */
export const STAGING_ANNOTATION = 'heliostat.io/staging-key';
export const MANAGED_BY = 'heliostat';
export const CONTAINER = 'rockcraft';
/** Exit code of the pod script when the upload (not the build) failed. */
export const UPLOAD_FAILED_EXIT = 75;

const INPUT_DIR = '/heliostat/input';
const UPLOAD_URL_KEY = 'upload-url';

export interface PodSettings {
  image: string;
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  serviceAccount?: string;
  nodeSelector: Readonly<Record<string, string>>;
  resources: { requests?: Readonly<Record<string, string>>; limits?: Readonly<Record<string, string>> };
  /** Destructive mode installs packages into the container itself: it needs root. */
  privileged: boolean;
  ttlSecondsAfterFinished: number;
  /** Extra arguments after `pack --destructive-mode`. */
  packArgs: readonly string[];
}

export interface RockJobInput {
  namespace: string;
  name: string;
  rock: string;
  buildId: string;
  key: string;
  stagingKey: string;
  files: Readonly<Record<string, string>>;
  deadlineSeconds: number;
  pod: PodSettings;
}

/**
 * The pod's script. It reads its inputs from environment variables so that nothing in it names a
 * host path; the digest line is both logged and written as the termination message.
 */
export const POD_SCRIPT = `set -eu
work=$(mktemp -d)
cp -L "$HELIOSTAT_INPUT"/* "$work"/
cd "$work"
rockcraft pack --verbosity brief --destructive-mode "$@"
set -- *.rock
if [ "$#" -ne 1 ] || [ ! -f "$1" ]; then echo "heliostat: rockcraft pack produced $# .rock files, expected one" >&2; exit 1; fi
digest=$(sha256sum "$1" | cut -d' ' -f1)
curl --fail --silent --show-error -X PUT -H 'Content-Type: application/octet-stream' --upload-file "$1" "$HELIOSTAT_UPLOAD_URL" || exit ${UPLOAD_FAILED_EXIT}
result="sha256:$digest $1"
printf '%s' "$result" > "\${HELIOSTAT_RESULT:-/dev/termination-log}"
echo "heliostat-rock: $result"
`;

/** A DNS-1123 label value: lower case, at most 63 characters, alphanumeric at both ends. */
export function labelValue(value: string): string {
  const cleaned = value.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').slice(0, 63).replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return cleaned || 'x';
}

/** The key label: the hex of the build key (a label value holds 63 of its 64 characters). */
export function keyLabel(key: string): string {
  return labelValue(key.replace(/^sha256:/, ''));
}

/** Job name: the rock (shortened) and a hash of build, rock, key and a nonce (one per attempt). */
export function jobName(rock: string, buildId: string, key: string, nonce: number | string = 0): string {
  const hash = createHash('sha256').update(`${buildId}\0${rock}\0${key}\0${nonce}`).digest('hex').slice(0, 10);
  const base = rock.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'rock';
  return `heliostat-${base}-${hash}`.replace(/-+/g, '-');
}

export function rockLabels(input: Pick<RockJobInput, 'rock' | 'buildId' | 'key'>): Record<string, string> {
  return { [LABELS.managedBy]: MANAGED_BY, [LABELS.buildId]: labelValue(input.buildId), [LABELS.rock]: labelValue(input.rock), [LABELS.key]: keyLabel(input.key) };
}

/** The label selector that finds the Jobs of identical work (same rock, same build key). */
export function sameWorkSelector(rock: string, key: string): string {
  return `${LABELS.managedBy}=${MANAGED_BY},${LABELS.rock}=${labelValue(rock)},${LABELS.key}=${keyLabel(key)}`;
}

const CONFIGMAP_KEY = /^[-._a-zA-Z0-9]+$/;

export function configMapFor(input: RockJobInput, owner?: V1OwnerReference): V1ConfigMap {
  for (const name of Object.keys(input.files)) {
    if (!CONFIGMAP_KEY.test(name) || name === '.' || name === '..') throw new Error(`build file name '${name}' cannot be a ConfigMap key`);
  }
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: input.name, namespace: input.namespace, labels: rockLabels(input), ...(owner ? { ownerReferences: [owner] } : {}) },
    data: { ...input.files },
  };
}

export function uploadSecretFor(input: RockJobInput, uploadUrl: string, owner?: V1OwnerReference): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { name: input.name, namespace: input.namespace, labels: rockLabels(input), ...(owner ? { ownerReferences: [owner] } : {}) },
    stringData: { [UPLOAD_URL_KEY]: uploadUrl },
  };
}

/** Makes the ConfigMap and Secret go with their Job (deleted by its TTL or a delete). */
export function ownedBy(job: V1Job): V1OwnerReference | undefined {
  const { name, uid } = job.metadata ?? {};
  return name && uid ? { apiVersion: 'batch/v1', kind: 'Job', name, uid, blockOwnerDeletion: false } : undefined;
}

export function jobFor(input: RockJobInput): V1Job {
  const labels = rockLabels(input);
  const { pod } = input;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: input.name, namespace: input.namespace, labels, annotations: { [STAGING_ANNOTATION]: input.stagingKey } },
    spec: {
      // A failed pack fails the same way again: the runner reports it instead of retrying.
      backoffLimit: 0,
      activeDeadlineSeconds: input.deadlineSeconds,
      ttlSecondsAfterFinished: pod.ttlSecondsAfterFinished,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          ...(pod.serviceAccount ? { serviceAccountName: pod.serviceAccount } : {}),
          automountServiceAccountToken: false,
          ...(Object.keys(pod.nodeSelector).length > 0 ? { nodeSelector: { ...pod.nodeSelector } } : {}),
          containers: [
            {
              name: CONTAINER,
              image: pod.image,
              imagePullPolicy: pod.imagePullPolicy,
              command: ['/bin/sh', '-c', POD_SCRIPT, 'heliostat-pack', ...pod.packArgs],
              env: [
                { name: 'HELIOSTAT_INPUT', value: INPUT_DIR },
                { name: 'HELIOSTAT_UPLOAD_URL', valueFrom: { secretKeyRef: { name: input.name, key: UPLOAD_URL_KEY } } },
              ],
              resources: {
                ...(pod.resources.requests ? { requests: { ...pod.resources.requests } } : {}),
                ...(pod.resources.limits ? { limits: { ...pod.resources.limits } } : {}),
              },
              securityContext: pod.privileged ? { privileged: true, runAsUser: 0 } : { runAsUser: 0 },
              terminationMessagePolicy: 'File',
              volumeMounts: [{ name: 'input', mountPath: INPUT_DIR, readOnly: true }],
            },
          ],
          volumes: [{ name: 'input', configMap: { name: input.name } }],
        },
      },
    },
  };
}
