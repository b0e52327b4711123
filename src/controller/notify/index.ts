// Notifications of controller events: signed webhooks and job callbacks, and the git publisher.
export { Notifier, webhookSchema, type NotifierOptions, type WebhookConfig } from './notifier.js';
export { GitPublisher, branchFor, PUBLISHED_FILES, type BuildCoordinates, type BuildFileReader, type GitPublisherOptions, type Publication, type PublishedFile } from './git-publisher.js';
export { deliver, type Delivery, type DeliveryOptions, type DeliveryResult } from './deliver.js';
export { NOTIFY_EVENTS, notificationFor, redactJob, type Notification, type NotifyEventName } from './payload.js';
export { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signBody, verifySignature } from './sign.js';
export { checkTargetUrl, describeTarget, redactCredentials, type TargetUrlPolicy } from './url.js';
export { notificationsConfigSchema, startNotifications, type NotificationsConfig, type NotificationsDeps, type RunningNotifications } from './start.js';
