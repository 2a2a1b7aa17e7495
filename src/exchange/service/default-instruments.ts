import type { InstrumentDefinition } from './instruments.ts';

/**
 * Listed on first start (when exchange_instruments is empty) so a newcomer can trade at once.
 * AMZN and GOOG carry no price band because the LOBSTER replay (2012-06-21, AMZN ≈ 220, GOOG ≈ 580)
 * sends them quotes far from any reference; the others show the band at work. docs/exchange-api.md
 * lists them.
 */
export const defaultInstruments: readonly InstrumentDefinition[] = [
  {
    symbol: 'AMZN',
    name: 'Amazon.com, Inc.',
    currency: 'USD',
    tickSize: '0.01',
    lotSize: 1,
    referencePrice: '220.00',
    priceBandPercent: null,
    maxOrderQuantity: null,
  },
  {
    symbol: 'GOOG',
    name: 'Alphabet Inc. Class C',
    currency: 'USD',
    tickSize: '0.01',
    lotSize: 1,
    referencePrice: '580.00',
    priceBandPercent: null,
    maxOrderQuantity: null,
  },
  {
    symbol: 'AAPL',
    name: 'Apple Inc.',
    currency: 'USD',
    tickSize: '0.01',
    lotSize: 1,
    referencePrice: '190.00',
    priceBandPercent: '10',
    maxOrderQuantity: 1_000_000,
  },
  {
    symbol: 'MSFT',
    name: 'Microsoft Corporation',
    currency: 'USD',
    tickSize: '0.01',
    lotSize: 1,
    referencePrice: '420.00',
    priceBandPercent: '10',
    maxOrderQuantity: 1_000_000,
  },
  {
    symbol: '7203.T',
    name: 'Toyota Motor Corporation',
    currency: 'JPY',
    tickSize: '1',
    lotSize: 100,
    referencePrice: '2800',
    priceBandPercent: '20',
    maxOrderQuantity: 10_000_000,
  },
];
