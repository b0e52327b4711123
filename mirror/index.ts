// The mirror's public API in one import, for the CLI, the controller and the HTTP server.
export * from './layout.js';
export * from './ref.js';
export * from './build-record.js';
export * from './hash.js';
export * from './generated.js';
export * from './blobs.js';
export * from './lease.js';
export * from './pins.js';
export * from './series-index.js';
export * from './series.js';
export * from './view.js';
export * from './publish.js';
export * from './query.js';
export * from './retention.js';
export * from './lifecycle.js';
export * from './gc.js';
export * from './stores/store.js';
export * from './stores/fs.js';
export * from './stores/linking.js';
export { keyPath } from './stores/fs-keys.js';
export * from './pull.js';
export * from './sync.js';
// The HTTP client side; the server (express) is imported from './server/index.js' by who serves it.
export * from './http-reader.js';
