import { Gauge, type Registry } from 'prom-client';

/** Where the executions projection stands: the projector itself, or the thread that runs it. */
export interface ProjectorProgress {
  readonly appliedSeq: number;
  readonly lagRecords: number;
}

/** The projection's gauges, read from `progress` at each scrape. */
export function registerProgressGauges(registry: Registry, progress: ProjectorProgress): void {
  new Gauge({
    name: 'kinyu_exchange_projector_applied_seq',
    help: 'Seq of the last journal record the executions projector committed to PostgreSQL',
    registers: [registry],
    collect() {
      this.set(progress.appliedSeq);
    },
  });
  new Gauge({
    name: 'kinyu_exchange_projector_lag_records',
    help: 'Journal records (acknowledged commands) not yet in the executions projection',
    registers: [registry],
    collect() {
      this.set(progress.lagRecords);
    },
  });
}
