// The mirror's HTTP server: the router the controller mounts, the standalone app, read access.
export { createMirrorRouter, type MirrorRouterOptions } from './router.js';
export { createMirrorApp, listenMirror, type RunningServer } from './app.js';
export { hashPassword, isPasswordHash, readGuard, validateReadAuth, verifyPassword, type MirrorReadAuth } from './auth.js';
export { diffBuilds, diffPackages, type BuildDiff, type PackageChange, type RockDiff } from './diff.js';
export { HttpError, type MirrorServerLogger } from './errors.js';
export { contentTypeFor, parseRange } from './send-file.js';
export * from './protocol.js';
