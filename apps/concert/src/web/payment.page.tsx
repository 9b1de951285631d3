import type { PaymentView } from './api-types'
import { formatAmount } from './concert-words'

/** A payment not finished when its form was answered (the API said 202): where it stands now. */
export function PaymentPage({ payment, paths }: { payment: PaymentView; paths: { payment: string; reservation: string } }) {
  const pending = payment.status === 'PENDING'
  return (
    <>
      <h1>{pending ? 'Your payment is on its way' : 'The payment did not go through'}</h1>
      <p role={pending ? 'status' : 'alert'}>
        {pending
          ? `The payment of ${formatAmount(payment.amount)} is still being processed.`
          : payment.status === 'REFUNDED'
            ? `The payment of ${formatAmount(payment.amount)} was refunded to your wallet.`
            : 'Nothing was taken from your wallet.'}
      </p>
      <p>
        {pending ? <a href={paths.payment}>Check again</a> : <a href={paths.reservation}>Back to your seat</a>}
      </p>
    </>
  )
}
