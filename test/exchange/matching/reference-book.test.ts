import { describe } from 'vitest';
import { referenceOrderBooks } from '../../../src/exchange/matching/index.ts';
import { orderBookContract } from './order-book.contract.ts';

describe('ReferenceOrderBook', () => {
  orderBookContract(referenceOrderBooks);
});
