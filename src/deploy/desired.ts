// Desired attachments: for each train with attach on, its pin resolved to a committed build; each
// rock of that build mapped to the charm resources that consume it for the release; and each
// charm to the applications the model runs it as (found by charm name, never by app name).
import type { BuildRecord } from '../../mirror/build-record.js';
import { resolveRef, showBuild } from '../../mirror/query.js';
import type { MirrorStore } from '../../mirror/stores/store.js';
import { resourcesUsingRock } from '../catalog/sunbeam.js';
import { getRelease } from '../catalog/releases.js';
import type { JujuStatus } from './juju-schemas.js';
import { appsByCharm } from './juju-schemas.js';
import type { DesiredAttachment } from './reconcile.js';

export interface AttachTrain {
  train: string;
  release: string;
  series: string;
  /** `latest`, `stable`, a build id, `pin:<name>` or `as-of:<ISO time>`. */
  pin: string;
  /** Only these applications (default: every application of the charms concerned). */
  apps?: readonly string[];
}

export interface DesiredResult {
  desired: DesiredAttachment[];
  /** Builds the trains resolved to, by train. */
  builds: Map<string, BuildRecord>;
  problems: string[];
}

/** Maps a resolved build onto the model; pure given the record and the status. */
export function attachmentsForBuild(record: BuildRecord, status: JujuStatus, onlyApps?: readonly string[]): { desired: DesiredAttachment[]; problems: string[] } {
  const desired: DesiredAttachment[] = [];
  const problems: string[] = [];
  for (const rock of record.rocks) {
    if (rock.outcome !== 'built' && rock.outcome !== 'reused') continue;
    if (!rock.image) {
      problems.push(`${record.train} build ${record.buildId}: rock ${rock.name} was not pushed to a registry; nothing to attach`);
      continue;
    }
    for (const use of resourcesUsingRock(record.release, rock.name)) {
      for (const app of appsByCharm(status, use.charm)) {
        if (onlyApps && !onlyApps.includes(app)) continue;
        desired.push({
          app,
          charm: use.charm,
          resource: use.resource,
          // Without a container map (2023.2 data) every workload container of the app counts.
          containers: use.containers ?? [],
          rock: rock.name,
          ref: rock.image.ref,
          digest: rock.image.digest,
          train: record.train,
          buildId: record.buildId,
        });
      }
    }
  }
  return { desired, problems };
}

export async function desiredAttachments(trains: readonly AttachTrain[], store: MirrorStore, status: JujuStatus): Promise<DesiredResult> {
  const result: DesiredResult = { desired: [], builds: new Map(), problems: [] };
  for (const t of trains) {
    const release = getRelease(t.release).number;
    const resolved = await resolveRef(store, `${t.train}/${release}/${t.series}/${t.pin}`);
    const record = await showBuild(store, resolved, resolved.buildId);
    result.builds.set(t.train, record);
    const mapped = attachmentsForBuild(record, status, t.apps);
    result.desired.push(...mapped.desired);
    result.problems.push(...mapped.problems);
  }
  return result;
}
