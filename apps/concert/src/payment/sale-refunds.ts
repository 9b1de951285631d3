import type { Envelope, SagaDefinition } from '@tidings/core'
import { reactor, type SagaRunner, type UnitOfWork } from '@tidings/postgres'
import { CONCERT_SOURCE } from '../concert/concert.contracts'
import type { Reservation } from '../concert/reservation'
import { refundIdOf, type SaleRefund } from './refund-sale'

/** When a member gives a sold seat back, its payment is refunded: a saga per canceled sale, started once. */
export function saleRefunds(uow: UnitOfWork, runner: SagaRunner, definition: SagaDefinition<SaleRefund>) {
  return reactor(uow, {
    name: 'concert.sale-refunds',
    follows: [CONCERT_SOURCE],
    async react(tx, message: Envelope) {
      if (message.type !== 'concert.SaleCanceled.v1') return
      const sale = message.data as Reservation
      if (!sale.paymentId) return
      const refund: SaleRefund = { paymentId: sale.paymentId, memberId: sale.memberId, reservationId: sale.reservationId, amount: sale.price }
      await runner.start(tx, definition, refund, { id: refundIdOf(sale.paymentId) })
    },
  })
}
