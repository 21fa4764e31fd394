import { fileURLToPath } from 'node:url';

/**
 * The file the supervisor forks for each worker: `worker-process.js` beside this module's code.
 * Beside, not `../worker/…`, so that it holds in both layouts the build makes: tsc's dist/worker/
 * (this module and the worker side by side) and the bundle's dist/bundle/ (every module of the
 * supervisor in one file next to the bundled worker; scripts/bundle.mjs).
 */
export const WORKER_ENTRY = fileURLToPath(new URL('./worker-process.js', import.meta.url));
