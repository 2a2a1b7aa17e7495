import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, lazyChildLogger } from '../../src/platform/log.ts';

function capture(level: string) {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { logger: createLogger(level, destination), lines };
}

describe('lazyChildLogger (the per-request logger)', () => {
  it('given level warn, when a request logs below it, then nothing is written', async () => {
    const { logger, lines } = capture('warn');
    const log = lazyChildLogger(logger, { reqId: 'req-1' }, {});
    log.info({ apiKey: 'secret' }, 'incoming request');
    log.debug('details');
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines).toEqual([]);
  });

  it('writes enabled levels with the request bindings, redacted, and its children keep them', async () => {
    const { logger, lines } = capture('info');
    const log = lazyChildLogger(logger, { reqId: 'req-2' }, {});
    log.info({ apiKey: 'secret' }, 'one');
    log.child({ step: 'two' }).error('two');
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines).toMatchObject([
      { reqId: 'req-2', apiKey: '[redacted]', msg: 'one', service: 'kinyu' },
      { reqId: 'req-2', step: 'two', msg: 'two', level: 50 },
    ]);
    expect(log.bindings()).toMatchObject({ reqId: 'req-2' });
  });

  it('honours a route log level by making the real child at once', async () => {
    const { logger, lines } = capture('warn');
    const log = lazyChildLogger(logger, { reqId: 'req-3' }, { level: 'debug' });
    log.debug('shown');
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines).toMatchObject([{ reqId: 'req-3', msg: 'shown' }]);
  });
});
