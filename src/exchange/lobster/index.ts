/*
 * Public API of the LOBSTER replay: a pure decoder of LOBSTER sample files (message and order-book
 * rows) and the mapping of their messages to matching-engine commands as order flow. Used by
 * `npm run bench:exchange:lobster`; see docs/performance.md for the mapping and what it skips.
 */
export { lobsterLimits } from './limits.ts';
export {
  decodeLobsterMessage,
  decodeLobsterMessages,
  decodeLobsterOrderBook,
  decodeLobsterTopOfBook,
  type LobsterDecodeResult,
  type LobsterEventType,
  type LobsterLevel,
  type LobsterMessage,
  type LobsterTopOfBook,
  lobsterEventTypes,
  parseLobsterTime,
} from './messages.ts';
export {
  type ExecutionMapping,
  type FlowCommandKind,
  type FlowNote,
  type FlowSkipReason,
  levelOneBefore,
  type OrderFlow,
  type OrderFlowOptions,
  type OrderFlowResult,
  toOrderFlow,
} from './order-flow.ts';
