// Entry of the projector's worker thread. Plain JavaScript because Node 20 does not pass the main
// thread's TypeScript loader (bin/kinyu.js's tsx `register()`, or vitest's transform) on to worker
// threads: the worker registers tsx itself, then loads the TypeScript worker. Under the tsx CLI the
// loader is also inherited through execArgv; registering again is harmless.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
