import { collectDefaultMetrics, Registry } from 'prom-client';

/** One registry per running app (tests build many apps in one process). */
export function createMetricsRegistry(options: { defaultMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'kinyu_' });
  return registry;
}
