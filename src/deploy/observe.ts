// What the model runs, from one pod list: for each application, the digests each workload
// container runs (several while a rollout is under way) and the image it asks for.
import type { PodInfo } from './kube-pods.js';
import type { ObservedApp } from './reconcile.js';

export function observeApps(pods: readonly PodInfo[]): Map<string, ObservedApp> {
  const apps = new Map<string, Map<string, { digests: Set<string>; image?: string }>>();
  for (const pod of pods) {
    if (!pod.app || pod.terminating) continue;
    const containers = apps.get(pod.app) ?? new Map<string, { digests: Set<string>; image?: string }>();
    apps.set(pod.app, containers);
    for (const c of pod.containers) {
      const entry = containers.get(c.name) ?? { digests: new Set<string>(), image: c.image };
      // Only what the runtime reports running counts: a container stuck pulling runs nothing yet.
      if (c.digest) entry.digests.add(c.digest);
      containers.set(c.name, entry);
    }
  }
  return new Map([...apps].map(([app, containers]) => [app, { app, containers }]));
}
