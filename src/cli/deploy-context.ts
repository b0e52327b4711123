// Options and adapters shared by the commands that touch a Juju model and its Kubernetes
// namespace (attach, detach, reconcile, status), and by those that push to a registry.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { AttachmentStateFile } from '../deploy/attachment-state.js';
import { DesiredTrainsFile } from '../deploy/desired-file.js';
import { JujuClient } from '../deploy/juju.js';
import type { KubeClient } from '../deploy/kube.js';
import { UsageError } from '../errors.js';
import { parseRegistryTarget, type RegistryTarget } from '../registry/config.js';
import type { Settings } from './settings.js';

export interface DeployFlags {
  model: string;
  controller?: string;
  juju: string;
  kubeconfig?: string;
  namespace?: string;
  timeout: string;
}

export function deployOptions(cmd: Command): Command {
  return cmd
    .option('--model <model>', 'Juju model of the Sunbeam deployment', 'openstack')
    .option('--controller <controller>', 'Juju controller (default: the current one)')
    .option('--juju <path>', 'juju executable', 'juju')
    .option('--kubeconfig <file>', 'kubeconfig of the cluster (default: $KUBECONFIG or ~/.kube/config)')
    .option('--namespace <ns>', 'Kubernetes namespace (default: the model name)')
    .option('--timeout <seconds>', 'how long to wait for pods to run the new image', '600');
}

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

export interface DeployContext {
  juju: JujuClient;
  kube: KubeClient;
  namespace: string;
  state: AttachmentStateFile;
  desired: DesiredTrainsFile;
  rolloutTimeoutMs: number;
}

export async function openDeploy(flags: DeployFlags, settings: Settings, env: NodeJS.ProcessEnv, cwd: string): Promise<DeployContext> {
  if (!NAME.test(flags.model)) throw new UsageError(`invalid model name '${flags.model}'`);
  if (flags.controller !== undefined && !NAME.test(flags.controller)) throw new UsageError(`invalid controller name '${flags.controller}'`);
  if (!/^\d{1,5}$/.test(flags.timeout) || Number(flags.timeout) < 1) throw new UsageError(`--timeout must be a whole number of seconds, not '${flags.timeout}'`);
  const namespace = flags.namespace ?? flags.model;
  if (!NAME.test(namespace)) throw new UsageError(`invalid namespace '${namespace}'`);
  const kubeconfig = resolve(cwd, flags.kubeconfig ?? env['KUBECONFIG']?.split(':')[0] ?? join(homedir(), '.kube', 'config'));
  const scope = `${flags.controller ?? 'current'}-${flags.model}`;
  // Loaded only by the commands that reach the cluster (it is most of the CLI's start-up time).
  const { KubeClient } = await import('../deploy/kube.js');
  return {
    juju: new JujuClient({ executable: flags.juju, model: flags.model, ...(flags.controller ? { controller: flags.controller } : {}), env }),
    kube: KubeClient.fromKubeconfig(kubeconfig, { timeoutMs: 30_000, namespace }),
    namespace,
    state: new AttachmentStateFile(join(settings.dataDir, 'attach', `${scope}.state.json`), flags.model),
    desired: new DesiredTrainsFile(join(settings.dataDir, 'attach', `${scope}.trains.json`)),
    rolloutTimeoutMs: Number(flags.timeout) * 1000,
  };
}

export function registryOptions(cmd: Command): Command {
  return cmd
    .option('--registry <host/namespace>', 'OCI registry to push to, e.g. registry.example.com:5000/heliostat')
    .option('--registry-insecure', 'plain HTTP or an unverifiable certificate (test registries)');
}

/**
 * The registry target a command names. The username and password come from the environment
 * (HELIOSTAT_REGISTRY_USERNAME, HELIOSTAT_REGISTRY_PASSWORD), never from the command line.
 */
export function registryTarget(spec: string, insecure: boolean, env: NodeJS.ProcessEnv): RegistryTarget {
  const slash = spec.indexOf('/');
  const host = slash < 0 ? spec : spec.slice(0, slash);
  const namespace = slash < 0 ? '' : spec.slice(slash + 1);
  const username = env['HELIOSTAT_REGISTRY_USERNAME'];
  try {
    return parseRegistryTarget(
      { host, namespace, tlsVerify: !insecure, ...(username ? { username, passwordEnv: 'HELIOSTAT_REGISTRY_PASSWORD' } : {}) },
      env,
    );
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}
