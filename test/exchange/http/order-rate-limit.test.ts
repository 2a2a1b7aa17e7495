import { describe, expect, it } from 'vitest';
import { rateLimitedOrderOperations } from '../../../src/exchange/http/orders.ts';
import type { OrderOperations } from '../../../src/exchange/market-data/ws-session.ts';
import { AppError } from '../../../src/platform/errors.ts';
import { RateWindow } from '../../../src/platform/rate-window.ts';

describe('WebSocket order operations share the member allowance of the REST order routes', () => {
  it('given a member with 2 order requests left, when it sends 3 over the WebSocket, then the 3rd is rate_limited and never reaches the exchange', async () => {
    const now = 5_000;
    const limit = new RateWindow({ max: 3, windowMs: 60_000, now: () => now });
    limit.hit('firm-a'); // one REST order request already
    const reached: string[] = [];
    const exchange: OrderOperations = {
      placeOrder: async (member) => reached.push(`place ${member}`),
      cancelOrder: async (member, id) => reached.push(`cancel ${member} ${id}`),
      replaceOrder: async (member, id) => reached.push(`replace ${member} ${id}`),
    };
    const ws = rateLimitedOrderOperations(exchange, limit);
    await ws.placeOrder('firm-a', { symbol: 'AMZN', side: 'buy', orderType: 'market', quantity: 1 });
    await ws.cancelOrder('firm-a', '7');
    const refused = await ws.replaceOrder('firm-a', '7', { quantity: 1 }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(AppError);
    expect(refused).toMatchObject({ code: 'rate_limited', headers: { 'retry-after': '60' } });
    await ws.cancelOrder('firm-b', '8');
    expect(reached).toEqual(['place firm-a', 'cancel firm-a 7', 'cancel firm-b 8']);
  });
});
