import type { StreamView, StreamViewEvent } from '../admin/stream-views.ts';
import {
  type ApplicationEvent,
  type ApplicationState,
  evolveApplication,
  initialApplicationState,
} from './application.ts';

/**
 * How the admin stream view (GET /admin/streams/{streamId}/events) shows an application stream:
 * its events fold into the application state. Events carry no personal data (that is sealed in
 * bank_application_pii), so masking only removes the free-text rejection reason, which an admin
 * typed and which could name a person.
 */
export const applicationStreamView: StreamView<ApplicationState> = {
  category: 'application',
  initialState: initialApplicationState,
  evolve(state: ApplicationState, event: StreamViewEvent): ApplicationState {
    return evolveApplication(state, {
      type: event.type,
      data: event.data,
      recordedAt: event.recordedAt,
    } as ApplicationEvent & { recordedAt: Date });
  },
  mask(event: StreamViewEvent): unknown {
    if (event.type === 'AccountApplicationRejected') {
      const data = event.data as { rejectedBy: string };
      return { rejectedBy: data.rejectedBy, reason: '[masked]' };
    }
    return event.data;
  },
};
