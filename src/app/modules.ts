import { startBanking } from '../banking/module.ts';
import { startExchange } from '../exchange/index.ts';
import type { ModuleStarter } from './module.ts';

/** The business modules this system runs, in start order (identity is built into the runtime). */
export const moduleStarters: ModuleStarter[] = [startExchange, startBanking];
