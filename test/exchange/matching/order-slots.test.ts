import { describe, expect, it } from 'vitest';
import { noSlot, OrderSlots } from '../../../src/exchange/matching/order-slots.ts';

/** Places `orderId` as the book does (alloc, then init) and returns its slot. */
function place(slots: OrderSlots, orderId: number): number {
  const slot = slots.alloc(orderId);
  slots.init(slot, orderId, 'ACC', 1, 0);
  return slot;
}

describe('OrderSlots', () => {
  it('keeps consecutive ids in their home slots while the book turns over, by staying at most half full', () => {
    // Given 30,000 resting orders with consecutive ids (the sequencer's), two thirds of them cancelled
    const slots = new OrderSlots();
    const resting = new Map<number, number>();
    for (let orderId = 1; orderId <= 30_000; orderId++) resting.set(orderId, place(slots, orderId));
    for (let orderId = 1; orderId <= 30_000; orderId++) {
      if (orderId % 3 === 0) continue;
      slots.free(resting.get(orderId)!);
      resting.delete(orderId);
    }
    // When 30,000 more arrive, so that ids wrap around the table onto homes of orders still resting
    for (let orderId = 30_001; orderId <= 60_000; orderId++) resting.set(orderId, place(slots, orderId));
    // Then every order is still where it was placed, and nearly all of them are at home
    const misplaced = [...resting].filter(([orderId, slot]) => !slots.holds(slot, orderId));
    expect(misplaced).toEqual([]);
    const away = [...resting.keys()].filter((orderId) => slots.find(orderId) === noSlot);
    expect(away.length).toBeLessThan(resting.size / 20);
  });

  it('reuses freed slots and never gives out a slot that holds an order', () => {
    const slots = new OrderSlots();
    const held = new Set<number>();
    // Ids 1 and 1025, 2049… share home slot 1 while the table has 1,024 slots.
    for (let n = 0; n < 400; n++) {
      const slot = place(slots, 1 + 1024 * n);
      expect(held.has(slot)).toBe(false);
      held.add(slot);
    }
    for (const slot of held) slots.free(slot);
    const again = new Set<number>();
    for (let n = 0; n < 400; n++) again.add(place(slots, 7 + 1024 * n));
    expect(again.size).toBe(400);
  });
});
