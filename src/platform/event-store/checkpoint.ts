/**
 * A position in the commit-safe order of all events: the writing transaction's id (xid8) and the
 * event's global position. Events are read in (transactionId, position) order, and only from
 * transactions older than every transaction still running, so nothing can later appear before a
 * checkpoint that a reader has passed (see docs/architecture.md, "Checkpoints and gaps").
 */
export interface Checkpoint {
  readonly transactionId: bigint;
  readonly position: bigint;
}

/** Before the first event. */
export const startCheckpoint: Checkpoint = Object.freeze({ transactionId: 0n, position: 0n });

const checkpointPattern = /^(0|[1-9][0-9]{0,19}):(0|[1-9][0-9]{0,18})$/;

/** Compact text form "transactionId:position", e.g. "7421:1033"; "0:0" is the start. */
export function formatCheckpoint(checkpoint: Checkpoint): string {
  return `${checkpoint.transactionId}:${checkpoint.position}`;
}

/** Parses the text form of `formatCheckpoint`; throws on anything else. */
export function parseCheckpoint(text: string): Checkpoint {
  const match = checkpointPattern.exec(text);
  if (!match) throw new RangeError(`checkpoint "${text}" is not of the form "transactionId:position"`);
  return { transactionId: BigInt(match[1]!), position: BigInt(match[2]!) };
}

/** Negative when `a` comes before `b` in the read order, zero when equal, positive after. */
export function compareCheckpoints(a: Checkpoint, b: Checkpoint): number {
  if (a.transactionId !== b.transactionId) return a.transactionId < b.transactionId ? -1 : 1;
  if (a.position !== b.position) return a.position < b.position ? -1 : 1;
  return 0;
}
