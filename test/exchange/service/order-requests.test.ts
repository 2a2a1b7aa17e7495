import { describe, expect, it } from 'vitest';
import { OrderRequests } from '../../../src/exchange/service/order-requests.ts';

describe('OrderRequests (orders placed with an Idempotency-Key, by request key)', () => {
  it('given an order placed with a key, then the key means it for the key lifetime and not after', () => {
    const requests = new OrderRequests(1_000, 10);
    requests.placed('k', 7, 5_000);
    expect(requests.recent('k', 5_999)).toBe(7);
    expect(requests.recent('k', 6_000)).toBeUndefined();
    expect(requests.recent('other', 5_000)).toBeUndefined();
  });

  it('given more keyed orders than it keeps, then it forgets the oldest and says up to which order id', () => {
    const requests = new OrderRequests(60_000, 2);
    requests.placed('a', 1, 0);
    requests.placed('b', 2, 0);
    expect(requests.forgottenUpTo).toBe(0);
    requests.placed('c', 3, 0);
    expect(requests.forgottenUpTo).toBe(1);
    expect([requests.recent('a', 0), requests.recent('b', 0), requests.recent('c', 0)]).toEqual([
      undefined,
      2,
      3,
    ]);
  });

  it('marks a key pending while its order is being placed', () => {
    const requests = new OrderRequests(60_000, 2);
    requests.begin('k');
    expect(requests.isPending('k')).toBe(true);
    requests.end('k');
    expect(requests.isPending('k')).toBe(false);
  });
});
