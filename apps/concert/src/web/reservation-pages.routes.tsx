import { randomUUID } from 'node:crypto'
import { Hono, type Context } from 'hono'
import { type ApiProblem, formFields, formGuard, INVALID_FORM, isId, webOf, type WebRequest } from '@tidings/board'
import type { Balance, PaymentView, ReservationView } from './api-types'
import { ConfirmationPage } from './confirmation.page'
import { wordsFor } from './concert-words'
import { type ConcertWebDeps, concertOf, NO_CONCERT, notFound, refused, status, visitApi } from './concert-web-request'
import { PaymentPage } from './payment.page'
import { ReservationPage } from './reservation.page'

const NO_RESERVATION = 'There is no such reservation of yours.'
/** What the wallet takes in one charge, as typed: digits only; the API says which amounts it accepts. */
const AMOUNT = /^[0-9]{1,12}$/

/** A held seat and its payment: charging the wallet, paying (once per rendered form), giving the seat back, the confirmation. */
export function reservationPages(deps: ConcertWebDeps): Hono {
  const routes = new Hono()
  const guard = formGuard()
  const pathOf = (c: Context) => `/concerts/${c.req.param('concertId')}/reservations/${c.req.param('reservationId')}`

  routes.get('/concerts/:concertId/reservations/:reservationId', async (c) => reservationPage(c, webOf(c, deps)))

  routes.post('/concerts/:concertId/reservations/:reservationId/charge', guard, async (c) => {
    const web = webOf(c, deps)
    await web.member()
    const fields = await formFields(c, ['amount', 'idempotencyKey'])
    if (!fields || !isId(fields.idempotencyKey)) return reservationPage(c, web, INVALID_FORM, 400)
    const amount = fields.amount.trim().replaceAll(',', '')
    if (!AMOUNT.test(amount)) return reservationPage(c, web, 'Enter the amount to add as a whole number, such as 50000.', 400)
    const charged = await visitApi(c, deps, { idempotencyKey: fields.idempotencyKey }).call<Balance>('POST', '/api/wallet/charges', { auth: 'required', body: { amount: Number(amount) } })
    if (!charged.ok) return reservationPage(c, web, wordsFor(charged.problem), charged.status)
    return c.redirect(pathOf(c), 303)
  })

  routes.post('/concerts/:concertId/reservations/:reservationId/payment', guard, async (c) => {
    const web = webOf(c, deps)
    await web.member()
    const reservationId = c.req.param('reservationId')
    const fields = await formFields(c, ['idempotencyKey'])
    if (!fields || !isId(fields.idempotencyKey) || !isId(reservationId)) return reservationPage(c, web, INVALID_FORM, 400)
    const token = deps.queue.token(c)
    if (token === undefined) return reservationPage(c, web, wordsFor({ status: 403, code: 'QUEUE_TOKEN_NOT_ACTIVE', detail: '' }), 403)
    const api = visitApi(c, deps, { queueToken: token, idempotencyKey: fields.idempotencyKey })
    const paid = await api.call<PaymentView>('POST', '/api/payments', { auth: 'required', body: { reservationId } })
    if (!paid.ok) return reservationPage(c, web, wordsFor(paid.problem), paid.status)
    // 201: paid, the reservation is confirmed. 202: still on its way, its own page follows it.
    if (paid.status === 202) return c.redirect(`/concerts/${c.req.param('concertId')}/payments/${paid.body.paymentId}`, 303)
    return c.redirect(pathOf(c), 303)
  })

  routes.post('/concerts/:concertId/reservations/:reservationId/cancel', guard, async (c) => {
    const web = webOf(c, deps)
    await web.member()
    const reservationId = c.req.param('reservationId')
    if (!isId(reservationId)) return refused(web, notFound(NO_RESERVATION), NO_RESERVATION)
    const canceled = await web.api.call<ReservationView>('DELETE', `/api/reservations/${reservationId}`, { auth: 'required' })
    if (!canceled.ok) return reservationPage(c, web, wordsFor(canceled.problem), canceled.status)
    return c.redirect(`/concerts/${canceled.body.concertId}/performances/${canceled.body.performanceId}`, 303)
  })

  routes.get('/concerts/:concertId/payments/:paymentId', async (c) => {
    const web = webOf(c, deps)
    await web.member()
    const { concertId, paymentId } = c.req.param()
    if (!isId(paymentId) || !isId(concertId)) return refused(web, notFound('There is no such payment of yours.'), 'There is no such payment of yours.')
    const payment = await web.api.call<PaymentView>('GET', `/api/payments/${paymentId}`, { auth: 'required' })
    if (!payment.ok) return refused(web, payment.problem, 'There is no such payment of yours.')
    const paths = { payment: `/concerts/${concertId}/payments/${paymentId}`, reservation: `/concerts/${concertId}/reservations/${payment.body.reservationId}` }
    if (payment.body.status === 'COMPLETED') return c.redirect(paths.reservation, 303)
    return web.render({ title: 'Your payment' }, <PaymentPage payment={payment.body} paths={paths} />)
  })

  return routes
}

/**
 * The reservation's page: the confirmation once paid, else the held seat with the wallet and the payment
 * form (perhaps with why the last form was refused). Each rendering has new keys: a refused payment is
 * over, and paying again is a new payment.
 */
async function reservationPage(c: Context, web: WebRequest, problem?: ApiProblem | string, code = 200): Promise<Response> {
  await web.member()
  const reservationId = c.req.param('reservationId') ?? ''
  const concert = await concertOf(web, c.req.param('concertId') ?? '')
  if (!concert.ok) return refused(web, concert.problem, NO_CONCERT)
  const reservation = isId(reservationId) ? await web.api.call<ReservationView>('GET', `/api/reservations/${reservationId}`, { auth: 'required' }) : undefined
  if (!reservation?.ok || reservation.body.concertId !== concert.body.concertId) return refused(web, reservation && !reservation.ok ? reservation.problem : notFound(NO_RESERVATION), NO_RESERVATION)
  const performance = concert.body.performances.find((p) => p.performanceId === reservation.body.performanceId)
  if (reservation.body.status === 'CONFIRMED') {
    // Paid (perhaps by this very form, answered before): nothing is wrong any more.
    return web.render({ title: 'Your seat is booked' }, <ConfirmationPage concert={concert.body} performance={performance} reservation={reservation.body} />)
  }
  const wallet = await web.api.call<Balance>('GET', '/api/wallet', { auth: 'required' })
  const balance = wallet.ok ? wallet.body.balance : 0
  const keys = { payment: randomUUID(), charge: randomUUID() }
  const page = <ReservationPage concert={concert.body} performance={performance} reservation={reservation.body} balance={balance} keys={keys} problem={problem} />
  return web.render({ title: `Seat ${reservation.body.seatNo}` }, page, status(code))
}
