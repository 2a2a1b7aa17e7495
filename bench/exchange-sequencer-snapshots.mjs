// Entry of the sequencer bench's snapshot thread. Plain JavaScript for the reason given in
// src/exchange/projector/worker-entry.mjs: a worker thread does not inherit the tsx loader, so it
// registers it, then loads the TypeScript.
import { register } from 'tsx/esm/api';

register();
await import('./exchange-sequencer-snapshots.ts');
