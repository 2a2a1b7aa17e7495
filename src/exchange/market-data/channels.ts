import { type CandleResolution, candleResolutionNames, isCandleResolution } from './candles.ts';

/** A market-data channel: `book.L2.<symbol>`, `book.L3.<symbol>`, `bbo.<symbol>`, `trades.<symbol>`, `candles.<resolution>.<symbol>`. */
export type Channel =
  | { kind: 'book.L2' | 'book.L3' | 'bbo' | 'trades'; symbol: string; name: string }
  | { kind: 'candles'; resolution: CandleResolution; symbol: string; name: string };

export type ChannelKind = Channel['kind'];

const plainKinds = ['book.L2', 'book.L3', 'bbo', 'trades'] as const;

/**
 * Parses a channel name, or returns why it is not one. Symbols may contain dots ("BRK.B"), so the
 * kind is matched as a prefix and the rest is the symbol.
 */
export function parseChannel(name: string): Channel | { problem: string } {
  for (const kind of plainKinds) {
    if (name.startsWith(`${kind}.`)) return withSymbol({ kind, symbol: name.slice(kind.length + 1), name });
  }
  if (name.startsWith('candles.')) {
    const rest = name.slice('candles.'.length);
    const dot = rest.indexOf('.');
    const resolution = dot < 0 ? rest : rest.slice(0, dot);
    if (!isCandleResolution(resolution)) {
      return { problem: `has an unknown candle resolution; use one of ${candleResolutionNames.join(', ')}` };
    }
    return withSymbol({ kind: 'candles', resolution, symbol: dot < 0 ? '' : rest.slice(dot + 1), name });
  }
  return {
    problem:
      'is not a channel; use book.L2.<symbol>, book.L3.<symbol>, bbo.<symbol>, trades.<symbol> or candles.<resolution>.<symbol>',
  };
}

function withSymbol(channel: Channel): Channel | { problem: string } {
  return channel.symbol.length === 0 ? { problem: 'names no symbol' } : channel;
}

/** `book.L2.<symbol>`, `book.L3.<symbol>`, `bbo.<symbol>` or `trades.<symbol>`. */
export function channelName(kind: (typeof plainKinds)[number], symbol: string): string {
  return `${kind}.${symbol}`;
}

/** `candles.<resolution>.<symbol>`. */
export function candleChannelName(resolution: CandleResolution, symbol: string): string {
  return `candles.${resolution}.${symbol}`;
}

/** Every channel name of one symbol. */
export function channelNames(symbol: string): string[] {
  return [
    ...plainKinds.map((kind) => channelName(kind, symbol)),
    ...candleResolutionNames.map((resolution) => candleChannelName(resolution, symbol)),
  ];
}
