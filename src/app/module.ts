import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';
import type { IdentityModule } from '../identity/index.ts';
import type { Bus } from '../platform/bus/types.ts';
import type { Clock } from '../platform/clock.ts';
import type { Config } from '../platform/config.ts';
import type { ReadinessCheck } from '../platform/http/app.ts';
import type { Logger } from '../platform/log.ts';
import type { Pool } from '../platform/sql/pool.ts';

/** What the runtime hands every business module when it starts one. */
export interface ModuleContext {
  config: Config;
  pool: Pool;
  bus: Bus;
  identity: IdentityModule;
  logger: Logger;
  clock: Clock;
  metrics: Registry;
  /** Where a secret meant for the operator goes once (console, never the log). */
  announce: (text: string) => void;
}

/**
 * A business module as the runtime runs it: its background work for this process's roles is
 * already started when `start` resolves; its routes join the HTTP server when the process serves
 * HTTP. `stop` is called once, in reverse start order, after the HTTP server has drained.
 */
export interface StartedModule {
  name: string;
  routes?: FastifyPluginAsync[];
  readiness?: ReadinessCheck[];
  stop(): Promise<void>;
}

export type ModuleStarter = (context: ModuleContext) => Promise<StartedModule>;
