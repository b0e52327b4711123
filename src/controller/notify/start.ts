// Composition of the notification side for the controller process: the config section it reads
// and one call that attaches webhooks, job callbacks and the optional git publisher.
import { join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { ControllerApi } from '../types.js';
import { GitPublisher, type BuildFileReader } from './git-publisher.js';
import { Notifier, webhookSchema } from './notifier.js';

/** The `notifications` section a controller config can embed. */
export const notificationsConfigSchema = z
  .object({
    webhooks: z.array(webhookSchema).max(50).default([]),
    git: z
      .object({
        /** Repository to push `heliostat/<train>-<release>-<build-id>` branches to (URL or path). */
        repository: z.string().min(1).max(2048),
        author: z.object({ name: z.string().min(1).max(100), email: z.string().min(3).max(200) }).strict().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type NotificationsConfig = z.infer<typeof notificationsConfigSchema>;

export interface NotificationsDeps {
  logger: Logger;
  signingSecret?: string;
  /** Where the git publisher keeps its clone (`<dataDir>/git-publisher`). */
  dataDir: string;
  /** Reads images.json and manifest.yaml of a committed build from the mirror. */
  readBuildFile: BuildFileReader;
  allowLoopbackHttp?: boolean;
}

export interface RunningNotifications {
  /** Resolves when every queued delivery and publication has ended. */
  idle(): Promise<void>;
  /** Detaches from the controller and drops what is still queued. */
  stop(): void;
}

export function startNotifications(controller: Pick<ControllerApi, 'onEvent'>, config: NotificationsConfig, deps: NotificationsDeps): RunningNotifications {
  const notifier = new Notifier({ webhooks: config.webhooks, logger: deps.logger.child({ component: 'notify' }), ...(deps.signingSecret ? { signingSecret: deps.signingSecret } : {}), allowLoopbackHttp: deps.allowLoopbackHttp ?? false });
  const unsubscribe = [notifier.attach(controller)];
  let publisher: GitPublisher | undefined;
  if (config.git) {
    publisher = new GitPublisher({
      repository: config.git.repository,
      workDir: join(deps.dataDir, 'git-publisher'),
      read: deps.readBuildFile,
      logger: deps.logger.child({ component: 'git-publisher' }),
      ...(config.git.author ? { author: config.git.author } : {}),
    });
    unsubscribe.push(publisher.attach(controller));
  }
  return {
    idle: async () => {
      await Promise.all([notifier.idle(), publisher?.idle()]);
    },
    stop: () => {
      for (const stop of unsubscribe) stop();
      notifier.stop();
    },
  };
}
