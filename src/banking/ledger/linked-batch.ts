import type { LinkedResult } from './results.ts';

/**
 * Records map writes while a linked chain is open so a failed chain can be undone: TigerBeetle's
 * scope_open / scope_close(discard|persist). Nothing reaches PostgreSQL until the whole batch is
 * decided, so undoing in memory replaces a savepoint rollback.
 */
export class UndoJournal {
  #undo: Array<() => void> = [];
  #open = false;

  set<K, V>(map: Map<K, V>, key: K, value: V): void {
    if (this.#open) {
      const had = map.has(key);
      const previous = map.get(key);
      this.#undo.push(had ? () => map.set(key, previous as V) : () => map.delete(key));
    }
    map.set(key, value);
  }

  open(): void {
    this.#open = true;
  }

  persist(): void {
    this.#undo = [];
    this.#open = false;
  }

  discard(): void {
    for (let i = this.#undo.length - 1; i >= 0; i--) this.#undo[i]!();
    this.persist();
  }
}

/**
 * Decides `count` events in order, honouring linked chains: an event whose `linked` flag is set
 * chains with the next one, and a chain succeeds or fails as a whole. The first failure in a chain
 * keeps its own result, undoes the chain's earlier events and gives every other member
 * 'linked_event_failed'; a batch ending in a linked event gets 'linked_event_chain_open' for it.
 * `decide` writes its effects through `journal` and only when it returns 'ok'.
 */
export function decideLinked<R extends string>(
  count: number,
  isLinked: (index: number) => boolean,
  decide: (index: number) => R,
  journal: UndoJournal,
): Array<R | LinkedResult> {
  const results = new Array<R | LinkedResult>(count);
  let chainStart = -1;
  let broken = false;
  for (let i = 0; i < count; i++) {
    const linked = isLinked(i);
    if (linked && chainStart < 0) {
      chainStart = i;
      journal.open();
    }
    const result: R | LinkedResult =
      linked && i === count - 1 ? 'linked_event_chain_open' : broken ? 'linked_event_failed' : decide(i);
    if (result !== 'ok' && chainStart >= 0 && !broken) {
      broken = true;
      journal.discard();
      for (let j = chainStart; j < i; j++) results[j] = 'linked_event_failed';
    }
    results[i] = result;
    if (chainStart >= 0 && (!linked || result === 'linked_event_chain_open')) {
      if (!broken) journal.persist();
      chainStart = -1;
      broken = false;
    }
  }
  return results;
}
