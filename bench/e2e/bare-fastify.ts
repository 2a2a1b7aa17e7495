/*
 * The peer of the end-to-end order bench: a bare Fastify server with the same route, body and
 * response shape as POST /v1/order, and nothing else (no auth, validation, journal or matching).
 * Prints "listening <url>" when ready.
 */
import Fastify from 'fastify';

const app = Fastify({ logger: false });
let next = 0;
app.post('/v1/order', async (request) => {
  const body = request.body as Record<string, unknown>;
  next++;
  return {
    id: String(next),
    clientOrderId: null,
    creationTime: new Date().toISOString(),
    symbol: body.symbol,
    side: body.side,
    orderType: body.orderType,
    price: body.price ?? null,
    quantity: body.quantity,
    filledQuantity: 0,
    remainingQuantity: body.quantity,
    status: 'new',
  };
});
const url = await app.listen({ host: '127.0.0.1', port: Number(process.argv[2] ?? 0) });
process.stdout.write(`listening ${url}\n`);
