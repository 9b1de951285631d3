import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '@tidings/testing'
import { BoardClient, type Member } from '@tidings/board/test-kit'
import {
  connectionFails,
  expectRefused,
  expectRetryAfter,
  genuineTokenOfNobody,
  nonLoopbackAddresses,
  oneMoreStream,
  openStreams,
  send,
  signUp,
  startSystem,
  type Reply,
  type RunningSystem,
  type SendOptions,
} from './probe-kit'

/**
 * Issue #16, "Show": every probe of the security review ("Found") replayed against one real `npm start`,
 * each expecting its refusal — the status, the stable code, and that nothing changed. A probe that is not
 * refused fails here.
 *
 * The process runs as `npm start` does (PGlite in a fresh data directory, the loopback, the default abuse
 * limits), with an operator secret so that there is a console and an operator to make. The limits count
 * per client address, and every request here comes from 127.0.0.1: the members that need a token log in
 * once, up front (7 of the 30 log-ins per minute per address), and the log-in probe's own accounts are
 * only signed up, so that its counts are exactly the defaults'. Before the process starts, its data
 * directory is given the identity's signing key, with which a genuine token of a member that exists
 * nowhere is made (`genuineTokenOfNobody`).
 */
const OPERATOR_SECRET = `probe-operator-${randomBytes(18).toString('base64url')}`
const VICTIM_ADDRESS = '2 Victim Road'
/** Marks what the bad-input probes tried to store, so that its absence can be checked. */
const TAG = `t${randomBytes(4).toString('hex')}`

interface OrderStatusView {
  orderId: string
  customerId: string | null
  total: number | null
  orderStatus: string | null
  paymentStatus: string | null
  deliveryStatus: string | null
  shippingAddress: string | null
}

const ORDER = (unitPrice: number) => ({ items: [{ sku: 'probe', qty: 1, unitPrice }], shippingAddress: '1 Main St' })
/** Paid, and its delivery made and waiting to ship. */
const shippable = (v: OrderStatusView) => v.orderStatus === 'PAID' && v.paymentStatus === 'PAID' && v.deliveryStatus === 'PREPARING'

describe('issue #16: the security probes, replayed against npm start', () => {
  let system: RunningSystem
  let api: BoardClient
  /** Operator and staff, made with the operator secret; ann is the attacker (and a customer), vic her victim. */
  let operator: Member
  let staff: Member
  let ann: Member
  let vic: Member
  let carl: Member
  /** Dora watches her notifications when she logs out; pat changes his password. */
  let dora: Member
  let pat: Member
  /** Signed by the process's own key, for a member id that exists nowhere. */
  let nobody: { memberId: string; token: string }
  /** Ann's order from probe 1: paid, not shipped. */
  let annOrderId: string
  /** Vic's order from probe 1: the one ann went after. */
  let vicOrderId: string

  const call = (method: string, path: string, options?: SendOptions): Promise<Reply> => send(system.baseUrl, method, path, options)
  const creditOf = async (member: Member): Promise<number> => {
    const reply = await call('GET', '/api/customers/me', { token: member.token })
    expect(reply.status, reply.text).toBe(200)
    return reply.body.credit as number
  }
  /** An order as its owner sees it in the order-status view, once `accept` holds (the view follows the services). */
  const orderOnceIt = (member: Member, orderId: string, accept: (v: OrderStatusView) => boolean, what: string) =>
    eventually(
      async () => (await call('GET', `/api/order-status/${orderId}`, { token: member.token })).body as OrderStatusView | undefined,
      (v) => v !== undefined && accept(v),
      { timeoutMs: 60_000, intervalMs: 50, what: `order ${orderId} ${what}` },
    ) as Promise<OrderStatusView>
  const placeOrder = async (member: Member, unitPrice: number, shippingAddress = '1 Main St'): Promise<string> => {
    const placed = await call('POST', '/api/orders', { token: member.token, body: { ...ORDER(unitPrice), shippingAddress } })
    expect(placed.status, placed.text).toBe(201)
    return placed.body.orderId as string
  }
  /** The titles the board lists once it shows `postId` (written after whatever is looked for). */
  const boardTitlesOnceItShows = async (postId: string, position: string | null): Promise<string[]> => {
    const list = await eventually(
      () => call('GET', '/api/board/posts?limit=100', position ? { headers: { 'Tidings-Position': position } } : {}),
      (r) => r.status === 200 && (r.body.items as Array<{ postId: string }>).some((p) => p.postId === postId),
      { timeoutMs: 30_000, what: `post ${postId} in the list` },
    )
    return (list.body.items as Array<{ title: string }>).map((p) => p.title)
  }

  beforeAll(async () => {
    system = await startSystem(
      {
        TIDINGS_OPERATOR_TOKEN: OPERATOR_SECRET,
        // Sign-ups stay limited, but more loosely than the default 5 per 10 min: this suite signs up 9 members
        // plus a few the probes expect refused, all from 127.0.0.1. The log-in limits stay the defaults:
        // probe 7 is about them.
        TIDINGS_SIGNUPS_PER_ADDRESS: '50/10m',
      },
      { beforeStart: async (dataDir) => void (nobody = await genuineTokenOfNobody(dataDir)) },
    )
    api = new BoardClient(system.baseUrl)
    operator = await api.newMember('op', { roles: ['operator'], operatorSecret: OPERATOR_SECRET })
    staff = await api.newMember('staff', { roles: ['staff'], operatorSecret: OPERATOR_SECRET })
    ann = await api.newMember('ann')
    vic = await api.newMember('vic')
    carl = await api.newMember('carl')
    dora = await api.newMember('dora')
    pat = await api.newMember('pat')
    for (const [member, amount] of [
      [ann, 10_000],
      [vic, 1_000],
    ] as const) {
      const credited = await call('POST', `/api/customers/${member.memberId}/credit`, { token: operator.token, body: { amount } })
      expect(credited, credited.text).toMatchObject({ status: 200, body: { credit: amount } })
    }
  }, 180_000) // a real process: initdb of a fresh data directory takes long on a loaded machine

  afterAll(async () => {
    await system?.stop()
  })

  it('probe 1 — "Orders had no authentication": nobody credits themself, orders on another\'s account, or readdresses, ships, delivers or cancels another\'s order', async () => {
    // Credit: only an operator adds it.
    const annCredit = await creditOf(ann)
    const selfCredit = `/api/customers/${ann.memberId}/credit`
    expectRefused(await call('POST', selfCredit, { token: ann.token, body: { amount: 1_000_000_000 } }), 403, 'ROLE_REQUIRED', 'the customer crediting themself')
    expectRefused(await call('POST', selfCredit, { token: staff.token, body: { amount: 1_000_000_000 } }), 403, 'ROLE_REQUIRED', 'staff crediting a customer')
    expectRefused(await call('POST', selfCredit, { body: { amount: 1_000_000_000 } }), 401, 'UNAUTHORIZED', 'crediting without a token')
    expect(await creditOf(ann)).toBe(annCredit)

    // An order naming another customer is the caller's: the victim is not charged.
    const vicCredit = await creditOf(vic)
    const onVictim = await call('POST', '/api/orders', { token: ann.token, body: { customerId: vic.memberId, ...ORDER(300) } })
    expect(onVictim.status, onVictim.text).toBe(201)
    expect(onVictim.body.customerId).toBe(ann.memberId)
    annOrderId = onVictim.body.orderId as string
    expect((await orderOnceIt(ann, annOrderId, shippable, 'paid')).customerId).toBe(ann.memberId)
    expect(await creditOf(ann)).toBe(annCredit - 300)
    expect(await creditOf(vic)).toBe(vicCredit)
    expectRefused(await call('GET', `/api/order-status/${annOrderId}`, { token: vic.token }), 404, 'ORDER_NOT_FOUND', "the victim reading the attacker's order")

    // The victim's own order, paid and waiting to ship: another customer can neither change nor ship it.
    vicOrderId = await placeOrder(vic, 500, VICTIM_ADDRESS)
    await orderOnceIt(vic, vicOrderId, shippable, 'paid')
    const vicPaid = await creditOf(vic)
    expect(vicPaid).toBe(vicCredit - 500)
    expectRefused(await call('PATCH', `/api/orders/${vicOrderId}/shipping-address`, { token: ann.token, body: { shippingAddress: '666 Attacker Lane' } }), 404, 'ORDER_NOT_FOUND', 'readdressing another\'s order')
    expectRefused(await call('POST', `/api/orders/${vicOrderId}/cancel`, { token: ann.token }), 404, 'ORDER_NOT_FOUND', 'canceling another\'s order')
    for (const action of ['ship', 'deliver']) {
      const path = `/api/deliveries/${vicOrderId}/${action}`
      expectRefused(await call('POST', path, { token: ann.token }), 403, 'ROLE_REQUIRED', `${action} by another customer`)
      expectRefused(await call('POST', path, { token: vic.token }), 403, 'ROLE_REQUIRED', `${action} by the customer`)
      expectRefused(await call('POST', path), 401, 'UNAUTHORIZED', `${action} without a token`)
    }
    expectRefused(await call('GET', `/api/deliveries/${vicOrderId}`, { token: ann.token }), 403, 'ROLE_REQUIRED', 'reading a delivery as a customer')

    // Nothing of it happened: staff can still ship the order (it was neither canceled nor shipped), and it
    // ships to the victim's address, paid once and never refunded.
    const shipped = await call('POST', `/api/deliveries/${vicOrderId}/ship`, { token: staff.token })
    expect([200, 202], shipped.text).toContain(shipped.status)
    const final = await orderOnceIt(vic, vicOrderId, (v) => v.deliveryStatus === 'SHIPPED' && v.orderStatus === 'SHIPPED', 'shipped')
    expect(final).toMatchObject({ customerId: vic.memberId, total: 500, orderStatus: 'SHIPPED', paymentStatus: 'PAID', deliveryStatus: 'SHIPPED', shippingAddress: VICTIM_ADDRESS })
    expect(await creditOf(vic)).toBe(vicPaid)
  })

  it('probe 2 — "Deleted content was readable": /internal/posts and /internal/comments answer nobody outside the process (401 SERVICE_CREDENTIAL_REQUIRED)', async () => {
    const post = await api.createPost(ann, { title: `Soon deleted ${TAG}`, content: `secret post ${TAG}` })
    expect(post.status).toBe(201)
    const comment = await api.addComment(vic, post.body.postId, `secret comment ${TAG}`)
    expect(comment.status).toBe(201)
    const { postId } = post.body
    const { commentId } = comment.body
    expect((await call('DELETE', `/api/comments/${commentId}`, { token: vic.token })).status).toBe(204)
    const deleted = await call('DELETE', `/api/posts/${postId}`, { token: ann.token })
    expect(deleted.status).toBe(204)

    const paths = [
      `/internal/posts/${postId}`,
      `/internal/comments/${commentId}`,
      `/internal/posts?ids=${postId},${commentId}`,
      `/internal/comments?ids=${commentId},${postId}`,
      `/internal/members/${ann.memberId}`,
    ]
    // Under npm start the service credential is the process's own: no token anyone holds opens these.
    const presented = { none: undefined, 'a member token': ann.token, 'the operator secret': OPERATOR_SECRET, 'a guess': 'x'.repeat(43) }
    for (const path of paths) {
      for (const [label, token] of Object.entries(presented)) {
        const reply = await call('GET', path, token === undefined ? {} : { token })
        expectRefused(reply, 401, 'SERVICE_CREDENTIAL_REQUIRED', `${path} with ${label}`)
        expect(reply.text).not.toContain('secret')
      }
    }
    // And the public read side has let go of it.
    await eventually(
      () => call('GET', `/api/board/posts/${postId}`, { headers: { 'Tidings-Position': deleted.position! } }),
      (r) => r.status === 404,
      { what: 'the deleted post gone from the read side' },
    )
  })

  it('probe 3 — "Personal data was public": feeds, other customers\' orders, the console\'s explorer and events need their credential; the server listens on the loopback', async () => {
    // The feeds carry every order's full state: the process's own services only.
    for (const source of ['orders.order', 'orders.payment', 'orders.delivery', 'identity.member']) {
      const reply = await call('GET', `/api/feeds/${source}?after=0`)
      expectRefused(reply, 401, 'SERVICE_CREDENTIAL_REQUIRED', source)
      expect(reply.text).not.toContain(VICTIM_ADDRESS)
    }
    expectRefused(await call('GET', '/api/feeds/orders.order?after=0', { token: ann.token }), 401, 'SERVICE_CREDENTIAL_REQUIRED', 'a feed with a member token')

    // A member reads only their own orders; another customer's are staff's to read.
    expectRefused(await call('GET', `/api/order-status?customerId=${vic.memberId}`, { token: ann.token }), 403, 'ROLE_REQUIRED', "another customer's orders")
    expectRefused(await call('GET', `/api/order-status/${vicOrderId}`, { token: ann.token }), 404, 'ORDER_NOT_FOUND', "another customer's order")
    expectRefused(await call('GET', `/api/order-status?customerId=${vic.memberId}`), 401, 'UNAUTHORIZED', 'orders without a token')
    const own = await call('GET', '/api/order-status', { token: ann.token })
    expect(own.status).toBe(200)
    const ownItems = own.body.items as OrderStatusView[]
    expect(ownItems.map((v) => v.orderId)).toContain(annOrderId)
    expect(ownItems.every((v) => v.customerId === ann.memberId)).toBe(true)
    expect(own.text).not.toContain(vicOrderId)
    // (Staff do read them: the data is there to be refused.)
    const asStaff = await call('GET', `/api/order-status?customerId=${vic.memberId}`, { token: staff.token })
    expect(asStaff.status).toBe(200)
    expect(asStaff.text).toContain(vicOrderId)

    // The console's order-status explorer: the sign-in page, without the order.
    const explorer = `/console?explorer=order-status&customerId=${vic.memberId}`
    for (const token of [undefined, ann.token, staff.token]) {
      const page = await call('GET', explorer, token === undefined ? {} : { token })
      expect(page.status, page.text.slice(0, 200)).toBe(401)
      expect(page.contentType).toMatch(/^text\/html/)
      expect(page.text).not.toContain(vicOrderId)
      expect(page.text).not.toContain(VICTIM_ADDRESS)
    }
    const withToken = await call('GET', explorer, { token: OPERATOR_SECRET })
    expect(withToken.status).toBe(200)
    expect(withToken.text).toContain(vicOrderId)

    // The console's live events and overview.
    for (const path of ['/console/api/events?source=orders.order', '/console/api/events', '/console/api/overview', '/console/fragments/overview']) {
      expectRefused(await call('GET', path), 401, 'OPERATOR_UNAUTHORIZED', path)
      expectRefused(await call('GET', path, { token: staff.token }), 401, 'OPERATOR_UNAUTHORIZED', `${path} with a staff member's token`)
    }

    // The loopback by default: reached at 127.0.0.1, and at none of the machine's other addresses.
    expect(system.baseUrl).toBe(`http://127.0.0.1:${system.port}`)
    expect(JSON.parse(system.listening)).toMatchObject({ port: system.port })
    expect(await connectionFails('127.0.0.1', system.port)).toBe(false)
    for (const address of [...nonLoopbackAddresses(), '::1']) {
      expect(await connectionFails(address, system.port), `connecting to ${address}:${system.port}`).toBe(true)
    }
  })

  it("probes 2 and 3 — the concert app's service routes too: a reservation, a queue token and the concert feeds answer nobody outside the process (401 SERVICE_CREDENTIAL_REQUIRED)", async () => {
    // Real ones to protect: vic's queue token for the demo concert, and the seat she holds with it.
    const concerts = await call('GET', '/api/concerts')
    expect(concerts.status, concerts.text).toBe(200)
    const concert = (concerts.body.items as Array<{ concertId: string; performances: Array<{ performanceId: string }> }>)[0]!
    const joined = await call('POST', `/api/concerts/${concert.concertId}/queue`, { token: vic.token })
    expect([200, 201], joined.text).toContain(joined.status)
    const queueToken = joined.body.token as string
    await eventually(() => call('GET', `/api/queue/${queueToken}`), (r) => r.body?.status === 'ACTIVE', { timeoutMs: 30_000, what: "vic's turn" })
    const held = await call('POST', '/api/reservations', { token: vic.token, body: { performanceId: concert.performances[0]!.performanceId, seatNo: 1 }, headers: { 'Queue-Token': queueToken } })
    expect(held.status, held.text).toBe(201)
    const reservationId = held.body.reservationId as string

    const paths = [
      `/internal/reservations/${reservationId}`,
      `/internal/reservations?ids=${reservationId}`,
      `/internal/queue-tokens/${queueToken}`,
      ...['concert.concert', 'concert.wallet', 'concert.payment'].flatMap((source) => [`/api/feeds/${source}?after=0`, `/api/feeds/${source}/lag?after=0`]),
    ]
    const presented = { none: undefined, 'a member token': vic.token, 'the operator secret': OPERATOR_SECRET, 'a guess': 'x'.repeat(43) }
    for (const path of paths) {
      for (const [label, token] of Object.entries(presented)) {
        const reply = await call('GET', path, token === undefined ? {} : { token })
        expectRefused(reply, 401, 'SERVICE_CREDENTIAL_REQUIRED', `${path} with ${label}`)
        expect(reply.text).not.toContain(vic.memberId)
      }
    }
  })

  it('probe 4 — "A cancel and a shipment could both succeed": a cancel and a shipment sent at once for a paid order never both succeed', async () => {
    const PAIRS = 10
    const PRICE = 100
    const orderIds = await Promise.all(Array.from({ length: PAIRS }, () => placeOrder(ann, PRICE)))
    for (const orderId of orderIds) await orderOnceIt(ann, orderId, shippable, 'paid and waiting to ship')
    const before = await creditOf(ann)

    const answers = await Promise.all(
      orderIds.map(async (orderId) => {
        const [cancel, ship] = await Promise.all([call('POST', `/api/orders/${orderId}/cancel`, { token: ann.token }), call('POST', `/api/deliveries/${orderId}/ship`, { token: staff.token })])
        return { orderId, cancel, ship }
      }),
    )
    for (const { orderId, cancel, ship } of answers) {
      expect({ orderId, cancel: cancel.status, ship: ship.status }, 'both succeeded').not.toEqual({ orderId, cancel: 200, ship: 200 })
    }

    // Settled: each order shipped (and paid), or canceled (refunded, its delivery canceled) — never a mix.
    let canceled = 0
    for (const { orderId, cancel, ship } of answers) {
      const end = await orderOnceIt(
        ann,
        orderId,
        (v) => ['SHIPPED', 'CANCELED'].includes(v.orderStatus!) && ['SHIPPED', 'CANCELED'].includes(v.deliveryStatus!) && (v.orderStatus !== 'CANCELED' || v.paymentStatus === 'REFUNDED'),
        'settled',
      )
      const outcome = `${end.orderStatus}/${end.paymentStatus}/${end.deliveryStatus}`
      expect(['SHIPPED/PAID/SHIPPED', 'CANCELED/REFUNDED/CANCELED'], `order ${orderId}`).toContain(outcome)
      // What each side was told agrees with how the order ended.
      if (outcome === 'CANCELED/REFUNDED/CANCELED') {
        canceled++
        expect({ cancel: cancel.status, ship: [409, 202].includes(ship.status) }, `${cancel.text} ${ship.text}`).toEqual({ cancel: 200, ship: true })
        if (ship.status === 409) expect(ship.body.code).toMatch(/^(ORDER_CANCELED|ILLEGAL_TRANSITION)$/)
      } else {
        expect({ cancel: cancel.status, code: cancel.body?.code, ship: [200, 202].includes(ship.status) }, `${cancel.text} ${ship.text}`).toEqual({ cancel: 409, code: 'ORDER_ALREADY_SHIPPED', ship: true })
      }
    }
    // The money agrees: refunded exactly the canceled orders.
    expect(await creditOf(ann)).toBe(before + canceled * PRICE)
  })

  it('probe 5 — "Anyone could register as a feed reader": reading a feed as a made-up consumer is 401 and registers nobody', async () => {
    const readers = async (): Promise<number | undefined> => {
      const overview = await call('GET', '/console/api/overview', { token: OPERATOR_SECRET })
      expect(overview.status).toBe(200)
      return (overview.body.feeds as Array<{ source: string; readers: number }>).find((f) => f.source === 'board.post')?.readers
    }
    const before = await readers()
    expect(before).toBeTypeOf('number')
    for (const token of [undefined, ann.token, OPERATOR_SECRET]) {
      for (const path of ['/api/feeds/board.post?after=0&consumer=fake-1', '/api/feeds/board.post?consumer=fake-1']) {
        expectRefused(await call('GET', path, token === undefined ? {} : { token }), 401, 'SERVICE_CREDENTIAL_REQUIRED', `${path} with ${token ? 'a token' : 'none'}`)
      }
    }
    expect(await readers()).toBe(before)
  })

  it('probe 6 — "100 console streams": with the operator token, the sixth live event stream is 429 TOO_MANY_STREAMS with Retry-After', async () => {
    const url = `${system.baseUrl}/console/api/events`
    const asOperator = { headers: { Authorization: `Bearer ${OPERATOR_SECRET}` } }
    const streams = await openStreams(url, 5, asOperator)
    try {
      for (const filter of ['', '?source=orders.order']) {
        const refused = await oneMoreStream(`${url}${filter}`, asOperator)
        expectRefused(refused, 429, 'TOO_MANY_STREAMS', `stream 6${filter}`)
        expectRetryAfter(refused, `stream 6${filter}`)
      }
    } finally {
      for (const stream of streams) stream.close()
    }
    // Closed streams free their places (once the server has noticed they went away).
    await eventually(() => oneMoreStream(url, asOperator), (r) => r.status === 200, { timeoutMs: 30_000, what: 'a console stream place free again' })
  })

  it('probe 7 — "No rate limit on login": wrong passwords turn into 429 TOO_MANY_ATTEMPTS after the limit, the right one too; parallel guesses are held as well', async () => {
    // Signed up, never logged in: the defaults allow 10 wrong passwords per account and address (15 min).
    const dave = await signUp(system.baseUrl, 'dave')
    const erin = await signUp(system.baseUrl, 'erin')
    const login = (email: string, password: string) => call('POST', '/api/auth/login', { body: { email, password } })

    const wrong: Reply[] = []
    for (let i = 0; i < 40; i++) wrong.push(await login(dave.email, `wrong password ${i}`))
    wrong.slice(0, 10).forEach((reply, i) => expectRefused(reply, 401, 'INVALID_CREDENTIALS', `wrong password ${i}`))
    wrong.slice(10).forEach((reply, i) => {
      expectRefused(reply, 429, 'TOO_MANY_ATTEMPTS', `wrong password ${i + 10}`)
      expectRetryAfter(reply, `wrong password ${i + 10}`)
    })
    const right = await login(dave.email, dave.password)
    expectRefused(right, 429, 'TOO_MANY_ATTEMPTS', 'the right password past the limit')
    expectRetryAfter(right, 'the right password')
    expect(right.text).not.toContain('token')

    // Twenty guesses at once for another account: at most the limit get as far as a password check.
    const guesses = await Promise.all(Array.from({ length: 20 }, (_, i) => login(erin.email, `guess ${i}`)))
    const checked = guesses.filter((g) => g.status === 401)
    const held = guesses.filter((g) => g.status === 429)
    expect(checked.length + held.length, guesses.map((g) => g.status).join(',')).toBe(20)
    expect(checked.length).toBeLessThanOrEqual(10)
    checked.forEach((reply) => expectRefused(reply, 401, 'INVALID_CREDENTIALS', 'a parallel guess'))
    held.forEach((reply) => {
      expectRefused(reply, 429, 'TOO_MANY_ATTEMPTS', 'a parallel guess')
      expectRetryAfter(reply, 'a parallel guess')
    })
  })

  describe('probe 8 — notification streams, revoked tokens, stale commands, bad bytes and text, sniffing', () => {
    it('probe 8 — "Notification streams": at most 5 per member, the sixth 429 TOO_MANY_STREAMS with Retry-After', async () => {
      const url = (member: Member) => `${system.baseUrl}/api/notifications/stream?access_token=${member.token}`
      const streams = await openStreams(url(ann), 5)
      try {
        const refused = await oneMoreStream(url(ann))
        expectRefused(refused, 429, 'TOO_MANY_STREAMS', "ann's sixth stream")
        expectRetryAfter(refused, "ann's sixth stream")
        const byHeader = await oneMoreStream(`${system.baseUrl}/api/notifications/stream`, { headers: { Authorization: `Bearer ${ann.token}` } })
        expectRefused(byHeader, 429, 'TOO_MANY_STREAMS', "ann's sixth stream, token in the header")
        // Per member: another member's first stream is not held by ann's.
        expect((await oneMoreStream(url(vic))).status).toBe(200)
      } finally {
        for (const stream of streams) stream.close()
      }
      await eventually(() => oneMoreStream(url(ann)), (r) => r.status === 200, { timeoutMs: 30_000, what: 'a notification stream place free again' })
    })

    it('probe 8 — a member\'s token after log-out: 401 TOKEN_REVOKED for posting, commenting, ordering and the notification stream', async () => {
      const target = await api.createPost(ann, { title: `Commented on ${TAG}`, content: 'by nobody signed out' })
      expect(target.status).toBe(201)
      expect((await call('GET', '/api/members/me', { token: carl.token })).status).toBe(200)
      expect((await call('POST', '/api/auth/logout', { token: carl.token })).status).toBe(204)

      expectRefused(await call('GET', '/api/members/me', { token: carl.token }), 401, 'TOKEN_REVOKED', 'who am I')
      expectRefused(await call('POST', '/api/posts', { token: carl.token, body: { title: `revoked ${TAG}`, content: 'refused' } }), 401, 'TOKEN_REVOKED', 'a post')
      expectRefused(await call('POST', `/api/posts/${target.body.postId}/comments`, { token: carl.token, body: { content: `revoked ${TAG}` } }), 401, 'TOKEN_REVOKED', 'a comment')
      expectRefused(await call('GET', `/api/notifications/stream?access_token=${carl.token}`), 401, 'TOKEN_REVOKED', 'the notification stream')
      expectRefused(await call('GET', '/api/notifications/stream', { token: carl.token }), 401, 'TOKEN_REVOKED', 'the notification stream, token in the header')
      expectRefused(await call('POST', '/api/orders', { token: carl.token, body: ORDER(1) }), 401, 'TOKEN_REVOKED', 'an order')

      // Nothing was stored: the board shows ann's later post, and no post of carl's.
      const marker = await api.createPost(ann, { title: `After the log-out ${TAG}`, content: 'marker' })
      const titles = await boardTitlesOnceItShows(marker.body.postId, marker.position)
      expect(titles.filter((t) => t.startsWith('revoked'))).toEqual([])
      const doc = await eventually(() => api.document(target.body.postId, marker.position), (r) => r.status === 200, { what: 'the commented-on post' })
      expect(doc.body.commentCount).toBe(0)
    })

    it('probe 8 — "a validly signed token of a member that does not exist could post and comment": 401 TOKEN_REVOKED for posting, commenting, ordering and the stream; nothing stored', async () => {
      const target = await api.createPost(ann, { title: `Commented on by nobody ${TAG}`, content: 'x' })
      expect(target.status).toBe(201)
      // Genuine: the same token with its signature altered is refused as a forgery instead.
      const forged = `${nobody.token.slice(0, -10)}${nobody.token.at(-10) === 'A' ? 'B' : 'A'}${nobody.token.slice(-9)}`
      expectRefused(await call('GET', '/api/members/me', { token: forged }), 401, 'INVALID_TOKEN', 'the token, its signature altered')

      expectRefused(await call('GET', '/api/members/me', { token: nobody.token }), 401, 'TOKEN_REVOKED', 'who am I')
      expectRefused(await call('POST', '/api/posts', { token: nobody.token, body: { title: `nobody ${TAG}`, content: 'refused' } }), 401, 'TOKEN_REVOKED', 'a post')
      expectRefused(await call('POST', `/api/posts/${target.body.postId}/comments`, { token: nobody.token, body: { content: `nobody ${TAG}` } }), 401, 'TOKEN_REVOKED', 'a comment')
      expectRefused(await call('GET', `/api/notifications/stream?access_token=${nobody.token}`), 401, 'TOKEN_REVOKED', 'the notification stream')
      expectRefused(await call('POST', '/api/orders', { token: nobody.token, body: ORDER(1) }), 401, 'TOKEN_REVOKED', 'an order')
      expectRefused(await call('GET', '/api/wallet', { token: nobody.token }), 401, 'TOKEN_REVOKED', 'a wallet')

      const marker = await api.createPost(ann, { title: `After nobody ${TAG}`, content: 'marker' })
      const titles = await boardTitlesOnceItShows(marker.body.postId, marker.position)
      expect(titles.filter((t) => t.startsWith('nobody'))).toEqual([])
      const doc = await eventually(() => api.document(target.body.postId, marker.position), (r) => r.status === 200, { what: 'the post nobody commented on' })
      expect(doc.body.commentCount).toBe(0)
    })

    it('probe 8 — "Notification streams kept delivering after the token was no longer good": once its member logs out, an open stream delivers nothing more and ends with signed-out TOKEN_REVOKED', async () => {
      const post = await api.createPost(dora, { title: `Dora's post ${TAG}`, content: 'to be commented on' })
      expect(post.status).toBe(201)
      const [stream] = await openStreams(`${system.baseUrl}/api/notifications/stream?access_token=${dora.token}`, 1)
      try {
        const before = await api.addComment(ann, post.body.postId, `before the log-out ${TAG}`)
        expect(before.status).toBe(201)
        expect(JSON.parse((await stream!.next('notification')).data)).toMatchObject({ commentId: before.body.commentId, postId: post.body.postId })
        expect((await call('POST', '/api/auth/logout', { token: dora.token })).status).toBe(204)
        // Ann comments again: the notification is made (a later login would list it), but this stream's token is spent.
        const after = await api.addComment(ann, post.body.postId, `after the log-out ${TAG}`)
        expect(after.status).toBe(201)
        const next = await stream!.next()
        expect({ event: next.event, data: JSON.parse(next.data) as unknown }).toEqual({ event: 'signed-out', data: { code: 'TOKEN_REVOKED' } })
        await expect(stream!.next()).rejects.toThrow(/the stream ended/)
        expect(stream!.received.map((e) => e.event)).toEqual(['ready', 'notification', 'signed-out'])
      } finally {
        stream!.close()
      }
    })

    it("probe 8 — \"tokens could not be revoked\": a password change refuses the member's earlier tokens (401 TOKEN_REVOKED) and answers a new one that works", async () => {
      const changed = await call('PUT', '/api/members/me/password', { token: pat.token, body: { currentPassword: 'correct horse', newPassword: 'another horse, longer' } })
      expect(changed.status, changed.text).toBe(200)
      const fresh = changed.body.token as string
      expect(fresh).not.toBe(pat.token)

      expectRefused(await call('GET', '/api/members/me', { token: pat.token }), 401, 'TOKEN_REVOKED', 'who am I')
      expectRefused(await call('POST', '/api/posts', { token: pat.token, body: { title: `old token ${TAG}`, content: 'refused' } }), 401, 'TOKEN_REVOKED', 'a post')
      expectRefused(await call('GET', `/api/notifications/stream?access_token=${pat.token}`), 401, 'TOKEN_REVOKED', 'the notification stream')
      expectRefused(await call('POST', '/api/orders', { token: pat.token, body: ORDER(1) }), 401, 'TOKEN_REVOKED', 'an order')
      expectRefused(await call('PUT', '/api/members/me/password', { token: pat.token, body: { currentPassword: 'another horse, longer', newPassword: 'a third horse' } }), 401, 'TOKEN_REVOKED', 'another password change')

      // The new token is the member's: it reads and writes.
      expect(await call('GET', '/api/members/me', { token: fresh })).toMatchObject({ status: 200, body: { memberId: pat.memberId } })
      const written = await call('POST', '/api/posts', { token: fresh, body: { title: `new token ${TAG}`, content: 'accepted' } })
      expect(written.status, written.text).toBe(201)
      const titles = await boardTitlesOnceItShows(written.body.postId as string, written.position)
      expect(titles.filter((t) => t.startsWith('old token'))).toEqual([])
    })

    it('probe 8 — a command whose consistency wait times out: 503 NOT_CAUGHT_UP with Retry-After, and it does nothing', async () => {
      const before = await creditOf(ann)
      // A delivery-feed position far ahead of anything written: the order's wait for it cannot succeed.
      const refused = await call('POST', `/api/orders/${annOrderId}/cancel`, { token: ann.token, headers: { 'Tidings-Position': 'orders.delivery@999999999-1' } })
      expectRefused(refused, 503, 'NOT_CAUGHT_UP', 'a cancel waiting for a future position')
      expect(refused.headers.get('retry-after')).toBe('1')
      // The order was not canceled: it still takes a new address, and is still paid.
      const readdressed = await call('PATCH', `/api/orders/${annOrderId}/shipping-address`, { token: ann.token, body: { shippingAddress: '3 Later Street' } })
      expect(readdressed, readdressed.text).toMatchObject({ status: 200, body: { orderId: annOrderId, status: 'PAID' } })
      expect(await creditOf(ann)).toBe(before)
      // Not a bad token either: a malformed one is a 400.
      expectRefused(await call('POST', `/api/orders/${annOrderId}/cancel`, { token: ann.token, headers: { 'Tidings-Position': 'orders.delivery@not-a-position' } }), 400, 'INVALID_POSITION', 'a malformed position')
    })

    it('probe 8 — invalid UTF-8 is 400 INVALID_UTF8; U+202E in a title, nickname or address, an invisible address, a password of 8 spaces are 400 VALIDATION; nothing stored', async () => {
      const bytes = (...parts: Array<string | number[]>) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))))
      expectRefused(await call('POST', '/api/posts', { token: ann.token, body: bytes(`{"title":"utf8 ${TAG}","content":"`, [0xc3, 0x28], '"}') }), 400, 'INVALID_UTF8', 'a post')
      expectRefused(await call('POST', '/api/posts', { token: ann.token, body: bytes(`{"title":"utf8 ${TAG}","content":"`, [0xed, 0xa0, 0x80], '"}') }), 400, 'INVALID_UTF8', 'a post with an encoded surrogate')
      expectRefused(await call('PATCH', '/api/members/me', { token: ann.token, body: bytes('{"nickname":"ann', [0xff], '"}') }), 400, 'INVALID_UTF8', 'a nickname')

      expectRefused(await call('POST', '/api/posts', { token: ann.token, body: { title: `rtl ${TAG} \u202Etxt.exe`, content: 'x' } }), 400, 'VALIDATION', 'a title with U+202E')
      expectRefused(await call('PATCH', '/api/members/me', { token: ann.token, body: { nickname: 'ann\u202Eevil' } }), 400, 'VALIDATION', 'a nickname with U+202E')
      expect((await call('GET', '/api/members/me', { token: ann.token })).body.nickname).toBe(ann.nickname)

      for (const [label, shippingAddress] of [
        ['an address with U+202E', `1 Main St \u202E${TAG}`],
        ['an address of only U+200B', '\u200B'],
        ['an address of only invisible characters', '\u200B\u200C\u200D\u2060 \uFEFF'],
      ] as const) {
        expectRefused(await call('POST', '/api/orders', { token: vic.token, body: { ...ORDER(1), shippingAddress } }), 400, 'VALIDATION', label)
      }
      expectRefused(await call('PATCH', `/api/orders/${annOrderId}/shipping-address`, { token: ann.token, body: { shippingAddress: `\u202E${TAG}` } }), 400, 'VALIDATION', 'a new address with U+202E')

      const spaces = `sp${TAG}`
      expectRefused(await call('POST', '/api/members', { body: { email: `${spaces}@example.com`, password: ' '.repeat(8), nickname: spaces } }), 400, 'VALIDATION', 'a password of 8 spaces')
      expect((await call('GET', `/api/members/nicknames/${spaces}`)).body).toEqual({ available: true })

      // Nothing was stored: the board and vic's orders, read up to a later write of each.
      const marker = await api.createPost(ann, { title: `After the bad input ${TAG}`, content: 'marker' })
      const titles = await boardTitlesOnceItShows(marker.body.postId, marker.position)
      expect(titles.filter((t) => t.startsWith('utf8') || t.startsWith('rtl'))).toEqual([])
      const markerOrder = await placeOrder(vic, 1, 'Marker Street')
      await orderOnceIt(vic, markerOrder, (v) => v.orderStatus !== null, 'in the view')
      const orders = await call('GET', '/api/order-status', { token: vic.token })
      expect((orders.body.items as OrderStatusView[]).map((v) => v.orderId).sort()).toEqual([vicOrderId, markerOrder].sort())
      expect(orders.text).not.toContain(TAG)
      const annOrder = await orderOnceIt(ann, annOrderId, (v) => v.shippingAddress === '3 Later Street', 'readdressed by probe 8')
      expect(annOrder.shippingAddress).not.toContain(TAG)
    })

    it('probe 8 — /console/assets/console.js and /assets/board.js carry X-Content-Type-Options: nosniff', async () => {
      for (const path of ['/console/assets/console.js', '/assets/board.js']) {
        const res = await fetch(`${system.baseUrl}${path}`)
        await res.arrayBuffer()
        expect(res.status, path).toBe(200)
        expect(res.headers.get('content-type'), path).toMatch(/^text\/javascript/)
        expect(res.headers.get('x-content-type-options'), path).toBe('nosniff')
      }
    })
  })

  it('probe 9 — "(Found by reading) a rebuild past retention": the rebuild is the operator\'s alone, and on a fresh system it succeeds', async () => {
    const path = '/console/api/subscriptions/board-query.post-document/reset'
    expectRefused(await call('POST', path), 401, 'OPERATOR_UNAUTHORIZED', 'a rebuild without the token')
    expectRefused(await call('POST', path, { token: staff.token }), 401, 'OPERATOR_UNAUTHORIZED', 'a rebuild with a member token')
    // The refusal past retention (409 REBUILD_PAST_RETENTION) needs a feed that retention has trimmed,
    // i.e. aged data, which no request can make: npm start keeps events 7 days and trims them first an
    // hour after it starts, neither of them configurable. It is the subscription contract's "refuses a
    // rebuild once retention has trimmed its feed (the model unchanged)…"
    // (packages/testing/src/contracts/subscription.contract.ts), run on both engines. Here, nothing is
    // trimmed yet: the rebuild goes ahead, and the read side comes back.
    const reset = await call('POST', path, { token: OPERATOR_SECRET })
    expect(reset, reset.text).toMatchObject({ status: 200, body: { reset: true, name: 'board-query.post-document' } })
    const post = await api.createPost(ann, { title: `After the rebuild ${TAG}`, content: 'rebuilt' })
    const titles = await boardTitlesOnceItShows(post.body.postId, post.position)
    expect(titles).toContain(`After the log-out ${TAG}`)
  })
})
