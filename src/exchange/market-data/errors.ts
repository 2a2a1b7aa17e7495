import { defineErrors } from '../../platform/errors.ts';

/** Market data's own error codes; registered by the route and WebSocket plugin factories. */
export const marketDataErrors = defineErrors({
  invalid_time_range: { status: 422, title: 'The time range is not valid' },
  upgrade_required: { status: 426, title: 'This route answers a WebSocket upgrade only' },
  subscriptions_limit_exceeded: {
    status: 422,
    title: 'This connection has as many subscriptions as it may have',
  },
  snapshot_too_large: {
    status: 422,
    title: "The channel's snapshot is larger than this connection's send buffer",
  },
});
