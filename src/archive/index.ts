// Public surface of the apt archive layer.
export * from './errors.js';
export * from './deb822.js';
export * from './version.js';
export * from './sources.js';
export * from './packages.js';
export * from './ppa.js';
export * from './sources-list.js';
export * from './package-repositories.js';
export * from './index-cache.js';
export * from './decode.js';
export * from './http.js';
export * from './fetch-index.js';
export * from './resolve.js';
