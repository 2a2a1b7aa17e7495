export { tellerRoutes } from './routes.ts';
export {
  type CashMovement,
  type CashMovementRequest,
  Teller,
  tellerReferenceLengthMax,
  tellerTransferId,
} from './teller.ts';
