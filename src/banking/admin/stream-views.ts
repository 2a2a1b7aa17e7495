/**
 * The registry of stream views for GET /admin/streams/{streamId}/events. A stream's category is
 * the part of its id before the first '-' (`transfer-<id>` → `transfer`). A module that wants its
 * streams shown registers a view for its category; a stream without a view is not shown at all,
 * because nothing would mask its personal data.
 */

/** An event as a view sees it. */
export interface StreamViewEvent {
  version: bigint;
  type: string;
  data: unknown;
  metadata: Record<string, unknown>;
  recordedAt: Date;
}

export interface StreamView<State = unknown> {
  /** The stream id prefix before the first '-', e.g. `transfer`, `account`, `application`. */
  category: string;
  /** The state before the first event; `undefined` when absent. */
  initialState?: () => State;
  /**
   * Folds an event into the state. It receives the event with its data already passed through
   * `mask`, so personal data cannot reach the state an admin sees.
   */
  evolve(state: State, event: StreamViewEvent): State;
  /** The event's data as an admin may see it: personal data replaced (e.g. `"T*** Y***"`). */
  mask(event: StreamViewEvent): unknown;
  /** How the state is shown (plain JSON); defaults to the state itself. */
  present?(state: State): unknown;
}

const views = new Map<string, StreamView<never>>();

const categoryPattern = /^[a-z][a-z0-9_]*$/;

/** Registers the view of a stream category; registering a different view for a taken category throws. */
export function registerStreamView<State>(view: StreamView<State>): void {
  if (!categoryPattern.test(view.category)) {
    throw new TypeError(`stream view category must match ${categoryPattern}, got "${view.category}"`);
  }
  const existing = views.get(view.category);
  if (existing && existing !== (view as unknown as StreamView<never>)) {
    throw new Error(`a stream view for category "${view.category}" is already registered`);
  }
  views.set(view.category, view as unknown as StreamView<never>);
}

/** The view registered for a stream id's category, if any. */
export function streamViewOf(streamId: string): StreamView<unknown> | undefined {
  const dash = streamId.indexOf('-');
  if (dash <= 0) return undefined;
  return views.get(streamId.slice(0, dash)) as StreamView<unknown> | undefined;
}

/** The categories that have a view (for error messages and docs). */
export function registeredStreamCategories(): string[] {
  return [...views.keys()].sort();
}

/** One event as the admin endpoint returns it. */
export interface ShownEvent {
  version: string;
  time: string;
  type: string;
  data: unknown;
  state: unknown;
}

/** Masks each event and folds the masked events, showing the state after each one. */
export function showStream(view: StreamView<unknown>, events: readonly StreamViewEvent[]): ShownEvent[] {
  let state = view.initialState ? view.initialState() : undefined;
  return events.map((event) => {
    const masked: StreamViewEvent = { ...event, data: view.mask(event) };
    state = view.evolve(state, masked);
    return {
      version: String(event.version),
      time: event.recordedAt.toISOString(),
      type: event.type,
      data: plainJson(masked.data),
      state: plainJson(view.present ? view.present(state) : state),
    };
  });
}

/** JSON-safe copy: bigint as decimal strings, Dates as ISO strings. */
function plainJson(value: unknown): unknown {
  if (value === undefined) return null;
  return JSON.parse(JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? v.toString() : v)));
}
