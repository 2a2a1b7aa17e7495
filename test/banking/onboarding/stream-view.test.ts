import { describe, expect, it } from 'vitest';
import { type StreamView, showStream } from '../../../src/banking/admin/stream-views.ts';
import { applicationStreamView } from '../../../src/banking/onboarding/index.ts';

describe('the admin stream view of an application', () => {
  it('folds the events into the state and masks the free-text rejection reason', () => {
    const at = (second: number) => new Date(Date.UTC(2026, 10, 22, 9, 0, second));
    const shown = showStream(applicationStreamView as unknown as StreamView<unknown>, [
      {
        version: 1n,
        type: 'AccountApplicationSubmitted',
        data: {
          applicationId: 'a',
          transactionId: 't',
          accountType: 'savings',
          currency: 'JPY',
          loginId: null,
        },
        metadata: {},
        recordedAt: at(0),
      },
      {
        version: 2n,
        type: 'AccountApplicationRejected',
        data: { rejectedBy: 'admin-1', reason: 'Mr Hanako Yamada looked suspicious' },
        metadata: {},
        recordedAt: at(1),
      },
    ]);
    expect(shown.map((event) => (event.state as { status: string }).status)).toEqual(['PENDING', 'REJECTED']);
    expect(shown[0]!.state).toMatchObject({ submittedAt: at(0).toISOString(), currency: 'JPY' });
    expect(JSON.stringify(shown)).not.toContain('Yamada');
    expect(shown[1]!.data).toEqual({ rejectedBy: 'admin-1', reason: '[masked]' });
  });
});
