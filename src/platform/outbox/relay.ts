import type { Bus, OutgoingMessage, PublishOptions } from '../bus/types.ts';
import type { Clock } from '../clock.ts';
import { systemClock } from '../clock.ts';
import { eventStoreLimits } from '../event-store/limits.ts';
import { pause, Wakeup } from '../event-store/notifications.ts';
import { limits } from '../limits.ts';
import type { Pool, PoolClient } from '../sql/pool.ts';
import { outboxChannel } from './enqueue.ts';
import { outboxLimits } from './limits.ts';

/** The relay's logger: pass a pino logger's methods, or a recorder in tests. */
export type RelayLog = (
  level: 'info' | 'warn' | 'error',
  message: string,
  fields?: Record<string, unknown>,
) => void;

export interface OutboxRelayOptions {
  /** Messages claimed per round; at most limits.outboxBatchMax. Default 100. */
  batchSize?: number;
  /** Fallback poll (and a follower's leadership check) when no NOTIFY arrives. Default 1000 ms. */
  pollIntervalMs?: number;
  /** Published rows older than this are deleted. Default one day. */
  publishedRetentionMs?: number;
  clock?: Clock;
  /** Session advisory lock that elects the leader; only relays sharing a key exclude each other. */
  lockKey?: bigint;
}

export interface OutboxRelayStats {
  published: number;
  publishFailures: number;
  pruned: number;
  /** Times this relay became leader. */
  leaderTerms: number;
}

/** Default advisory lock key of the relay (migrations use 7_264_911_001). */
export const relayLockKey = 7_264_911_002n;

const defaultBatchSize = 100;
const defaultPollIntervalMs = 1_000;
const defaultRetentionMs = 24 * 60 * 60 * 1000;
// Pruning is housekeeping: once a minute is plenty and keeps it off the publishing path.
const pruneIntervalMs = 60_000;

interface OutboxRow {
  id: bigint | string;
  message_id: string;
  topic: string;
  key: string;
  payload: unknown;
  headers: Record<string, string>;
}

/** A claim's answer: its snapshot's horizon and the rows (a row with id null when none matched). */
interface ClaimRow extends Omit<OutboxRow, 'id'> {
  id: bigint | string | null;
  snapshot_xmin: string;
  snapshot_xmax: string;
}

/**
 * After a round that handed rows up to `cursor` with a snapshot whose xmax was `xmax`: any row at or
 * below `cursor` that round could not see belongs to a transaction running then (row ids come from
 * a sequence, so a transaction starting later takes larger ids), hence to one below `xmax`.
 */
interface Horizon {
  cursor: bigint;
  xmax: bigint;
}

/**
 * Publishes outbox rows to the bus in id order, at least once. One relay at a time leads: the one
 * holding a PostgreSQL session advisory lock on a dedicated connection, which also LISTENs for new
 * rows. If that connection dies the lock goes with it and a waiting relay takes over, republishing
 * whatever was not yet marked published (consumers deduplicate by message id with handleOnce).
 */
export class OutboxRelay {
  readonly #pool: Pool;
  readonly #bus: Bus;
  readonly #log: RelayLog;
  readonly #batchSize: number;
  readonly #pollIntervalMs: number;
  readonly #retentionMs: number;
  readonly #clock: Clock;
  readonly #lockKey: bigint;
  readonly #wakeup = new Wakeup();
  readonly #stats: OutboxRelayStats = { published: 0, publishFailures: 0, pruned: 0, leaderTerms: 0 };
  #stopping = new AbortController();
  #leader: PoolClient | undefined;
  #loop: Promise<void> | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #lastPruneMs = Number.NEGATIVE_INFINITY;
  /** Highest row id handed to the bus in this leadership term. */
  #cursor = 0n;
  /**
   * Every row at or below it that will ever commit was seen by this term (handed or already
   * published): rounds claim only rows above it. It trails #cursor until the transactions that were
   * running when those rows were read have ended, so a row that commits after a higher id was
   * handed is still claimed (ids are taken at insert, not at commit).
   */
  #settled = 0n;
  /** Cursors waiting for their snapshot's running transactions to end, oldest first. */
  #horizons: Horizon[] = [];
  /** Non-durable bus: rows above #settled handed in this term and not yet marked published. */
  readonly #inFlight = new Set<string>();
  /** Rows a non-durable bus reported handled, to be marked published in the next round. */
  #handled: string[] = [];

  constructor(pool: Pool, bus: Bus, log: RelayLog = () => {}, options: OutboxRelayOptions = {}) {
    this.#pool = pool;
    this.#bus = bus;
    this.#log = log;
    this.#batchSize = inRange('batchSize', options.batchSize ?? defaultBatchSize, limits.outboxBatchMax);
    this.#pollIntervalMs = inRange(
      'pollIntervalMs',
      options.pollIntervalMs ?? defaultPollIntervalMs,
      eventStoreLimits.pollIntervalMsMax,
    );
    this.#retentionMs = options.publishedRetentionMs ?? defaultRetentionMs;
    this.#clock = options.clock ?? systemClock;
    this.#lockKey = options.lockKey ?? relayLockKey;
  }

  get isLeader(): boolean {
    return this.#leader !== undefined;
  }

  /** Messages this relay has published (for metrics). */
  get publishedCount(): number {
    return this.#stats.published;
  }

  stats(): OutboxRelayStats {
    return { ...this.#stats };
  }

  /** Runs the relay until stop(): lead or wait to lead, publish on NOTIFY or every poll interval. */
  start(): void {
    if (this.#loop) return;
    this.#stopping = new AbortController();
    this.#loop = this.#run(this.#stopping.signal);
  }

  /** Stops after the round in flight and gives up leadership. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#loop;
    this.#loop = undefined;
    await this.#exclusive(async () => {
      if (this.#leader) await this.#markPublished(this.#leader, this.#handled.splice(0)).catch(() => {});
      // Unlock before closing: the server would drop the lock only once it notices the closed
      // connection, and a successor that tried in between would wait a whole poll interval.
      await this.#leader?.query('SELECT pg_advisory_unlock($1)', [this.#lockKey]).catch(() => {});
      this.#resign('stopped');
    });
  }

  /** One round: take the lead if free, publish up to batchSize messages; returns how many. */
  runOnce(): Promise<number> {
    return this.#exclusive(() => this.#round());
  }

  /** Rounds until the outbox has no unpublished row this relay can see; returns how many it published. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const published = await this.runOnce();
      total += published;
      if (published < this.#batchSize) return total;
    }
  }

  async #run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let published = 0;
      try {
        published = await this.runOnce();
      } catch (error) {
        this.#log('error', 'outbox relay round failed', { error: String(error) });
        // Back off without letting a NOTIFY cut it short: a failing bus must not be hammered.
        await pause(this.#pollIntervalMs, signal);
        continue;
      }
      if (published < this.#batchSize) await this.#wakeup.wait(this.#pollIntervalMs, signal);
    }
  }

  // runOnce and the loop share the leader connection; one round at a time keeps the id order.
  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(work);
    this.#queue = result.catch(() => {});
    return result;
  }

  async #round(): Promise<number> {
    const leader = await this.#ensureLeader();
    if (!leader) return 0;
    try {
      const published = await this.#publishBatch(leader);
      if (published < this.#batchSize) await this.#pruneIfDue(leader);
      return published;
    } catch (error) {
      // A database error leaves the connection in an unknown state: drop it (and the lock with it)
      // rather than go on publishing without knowing we still lead. A bus failure does not.
      if (!(error instanceof OutboxPublishError)) this.#resign('database error');
      throw error;
    }
  }

  async #ensureLeader(): Promise<PoolClient | undefined> {
    if (this.#leader) return this.#leader;
    const client = await this.#pool.connect();
    const onError = () => this.#lose(client);
    client.on('error', onError);
    let locked = false;
    try {
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [
        this.#lockKey,
      ]);
      locked = rows[0]!.locked;
      if (locked) await client.query(`LISTEN ${outboxChannel}`);
    } catch (error) {
      destroy(client);
      throw error;
    }
    if (!locked) {
      client.off('error', onError);
      client.release();
      return undefined;
    }
    client.on('notification', () => this.#wakeup.wake());
    this.#leader = client;
    // A new term starts from the oldest unpublished row: whatever an earlier term handed to a
    // non-durable bus and never saw handled is delivered again (consumers deduplicate by id).
    this.#cursor = 0n;
    this.#settled = 0n;
    this.#horizons = [];
    this.#inFlight.clear();
    this.#handled = [];
    this.#stats.leaderTerms++;
    this.#log('info', 'outbox relay is now the leader');
    return client;
  }

  #lose(client: PoolClient): void {
    if (this.#leader === client) {
      this.#leader = undefined;
      this.#log('warn', 'outbox relay lost its leader connection');
    }
    destroy(client);
  }

  #resign(reason: string): void {
    const leader = this.#leader;
    if (!leader) return;
    this.#leader = undefined;
    // Closing the connection releases the advisory lock and the LISTEN with it.
    destroy(leader);
    this.#log('info', 'outbox relay gave up leadership', { reason });
  }

  /**
   * Publishes the next rows in id order, one `publishBatch` per run of one topic, stopping at the first
   * failure so later rows never overtake it. A durable bus (Redis) has the message once publish returns,
   * so the rows are marked published at once. A non-durable bus (in-process) loses what it holds if the
   * process dies, so a row stays unpublished until the bus reports every group handled it; #inFlight
   * keeps this term from handing it over twice. Rows are claimed above #settled, not above the last
   * handed id: a transaction can take id 10, commit after the one that took 11 was published, and
   * must still be published (see #settle).
   */
  async #publishBatch(leader: PoolClient): Promise<number> {
    await this.#markPublished(leader, this.#handled.splice(0));
    const { rows: claimed } = await leader.query<ClaimRow>({
      name: 'kinyu_outbox_claim_unseen',
      text: `SELECT pg_snapshot_xmin(s.snapshot)::text AS snapshot_xmin,
                    pg_snapshot_xmax(s.snapshot)::text AS snapshot_xmax,
                    o.id, o.message_id, o.topic, o.key, o.payload, o.headers
             FROM (SELECT pg_current_snapshot() AS snapshot) s
             LEFT JOIN LATERAL (
               SELECT id, message_id, topic, key, payload, headers FROM outbox
               WHERE published_at IS NULL AND id > $2 AND NOT (id = ANY($3::bigint[]))
               ORDER BY id LIMIT $1) o ON true
             ORDER BY o.id`,
      values: [this.#batchSize, String(this.#settled), [...this.#inFlight]],
    });
    const snapshotXmin = BigInt(claimed[0]!.snapshot_xmin);
    const snapshotXmax = BigInt(claimed[0]!.snapshot_xmax);
    const rows = claimed.filter((row): row is ClaimRow & OutboxRow => row.id !== null);
    const handed: OutboxRow[] = [];
    let failure: OutboxPublishError | undefined;
    for (const run of runsOfOneTopic(rows)) {
      try {
        await this.#bus.publishBatch(run[0]!.topic, run.map(toMessage), this.#publishOptions(run));
      } catch (error) {
        failure = new OutboxPublishError(run[0]!, error);
        break;
      }
      handed.push(...run);
    }
    if (!this.#bus.durable) for (const row of handed) this.#inFlight.add(String(row.id));
    if (handed.length > 0) this.#addHorizon(BigInt(handed.at(-1)!.id), snapshotXmax);
    if (this.#bus.durable)
      await this.#markPublished(
        leader,
        handed.map((row) => String(row.id)),
      );
    if (failure !== undefined) {
      this.#stats.publishFailures++;
      throw failure;
    }
    // Every row this snapshot could see above #settled was claimed (a short page) or up to the last one.
    this.#settle(snapshotXmin, rows.length < this.#batchSize ? this.#cursor : BigInt(rows.at(-1)?.id ?? 0));
    return handed.length;
  }

  #addHorizon(cursor: bigint, xmax: bigint): void {
    if (cursor > this.#cursor) this.#cursor = cursor;
    const last = this.#horizons.at(-1);
    if (this.#horizons.length >= outboxLimits.relayHorizonsMax && last) {
      // Settling later than needed is safe: widen the newest horizon instead of keeping another.
      last.cursor = this.#cursor;
      if (xmax > last.xmax) last.xmax = xmax;
      return;
    }
    this.#horizons.push({ cursor: this.#cursor, xmax });
  }

  /**
   * Moves #settled past every horizon whose transactions had all ended before this round's snapshot
   * (its xmin is at least the horizon's xmax) and whose rows this round claimed up to `claimedUpTo`:
   * nothing at or below such a cursor can still appear unseen.
   */
  #settle(snapshotXmin: bigint, claimedUpTo: bigint): void {
    while (this.#horizons.length > 0) {
      const horizon = this.#horizons[0]!;
      if (horizon.xmax > snapshotXmin || horizon.cursor > claimedUpTo) break;
      this.#horizons.shift();
      this.#settled = horizon.cursor;
    }
    for (const id of this.#inFlight) if (BigInt(id) <= this.#settled) this.#inFlight.delete(id);
  }

  #publishOptions(run: OutboxRow[]): PublishOptions {
    if (this.#bus.durable) return {};
    const rowIds = new Map(run.map((row) => [row.message_id, String(row.id)]));
    return {
      onHandled: (messageId) => {
        const rowId = rowIds.get(messageId);
        if (rowId === undefined) return;
        this.#handled.push(rowId);
        this.#wakeup.wake();
      },
    };
  }

  async #markPublished(leader: PoolClient, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await leader.query({
      name: 'kinyu_outbox_mark',
      text: 'UPDATE outbox SET published_at = $2 WHERE id = ANY($1::bigint[])',
      values: [ids, this.#clock.now()],
    });
    for (const id of ids) this.#inFlight.delete(id);
    this.#stats.published += ids.length;
  }

  async #pruneIfDue(leader: PoolClient): Promise<void> {
    const nowMs = this.#clock.nowMs();
    if (nowMs - this.#lastPruneMs < pruneIntervalMs) return;
    this.#lastPruneMs = nowMs;
    const result = await leader.query(
      `DELETE FROM outbox WHERE id IN (
         SELECT id FROM outbox WHERE published_at < $1 ORDER BY published_at LIMIT $2)`,
      [new Date(nowMs - this.#retentionMs), outboxLimits.pruneRowsMax],
    );
    this.#stats.pruned += result.rowCount ?? 0;
  }
}

function toMessage(row: OutboxRow): OutgoingMessage {
  return { id: row.message_id, key: row.key, payload: row.payload, headers: row.headers };
}

/** Consecutive rows with the same topic, in order. */
function runsOfOneTopic(rows: OutboxRow[]): OutboxRow[][] {
  const runs: OutboxRow[][] = [];
  for (const row of rows) {
    const last = runs.at(-1);
    if (last && last[0]!.topic === row.topic) last.push(row);
    else runs.push([row]);
  }
  return runs;
}

/** The bus refused a message; the relay retries it (and everything after it) later. */
export class OutboxPublishError extends Error {
  readonly messageId: string;
  readonly topic: string;
  constructor(row: OutboxRow, cause: unknown) {
    super(`publishing outbox message ${row.message_id} to ${row.topic} failed: ${String(cause)}`, { cause });
    this.name = 'OutboxPublishError';
    this.messageId = row.message_id;
    this.topic = row.topic;
  }
}

const destroyed = new WeakSet<PoolClient>();

function destroy(client: PoolClient): void {
  if (destroyed.has(client)) return;
  destroyed.add(client);
  client.release(true);
}

function inRange(what: string, value: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new RangeError(`${what} must be 1 to ${max}, got ${value}`);
  }
  return value;
}
