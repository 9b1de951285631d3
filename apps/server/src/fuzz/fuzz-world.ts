import { createHmac, createPrivateKey, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto'
import type { Database } from '@tidings/postgres'
import { BoardClient, type Answer } from '@tidings/board/test-kit'
import { FORGED } from './auth.arbitraries'
import type { Credential, MemberName } from './fuzz-request'

export interface WorldMember {
  memberId: string
  email: string
  password: string
  nickname: string
  token: string
}

/** What exists before the fuzz starts: members with tokens, and things of theirs for requests to aim at. */
export interface World {
  baseUrl: URL
  /** `http://127.0.0.1:<port>`: what a same-origin form sends as `Origin`. */
  origin: string
  operatorSecret: string
  serviceCredential: string
  members: Record<MemberName, WorldMember>
  /** Members only the log-in fuzz aims at (their accounts may end up locked by the sign-in limits). */
  victims: string[]
  revokedToken: string
  forged: Record<string, string>
  /** A console session for the operator token (`tidings_console`), when the console has sessions. */
  consoleSession: string | undefined
  ids: {
    alicePosts: string[]
    bobPosts: string[]
    deletedPosts: string[]
    /** Posts and comments only the DELETE routes aim at, so that the others keep something to edit and comment on. */
    sparePosts: string[]
    spareComments: string[]
    aliceComments: string[]
    bobComments: string[]
    deletedComments: string[]
    aliceNotifications: string[]
    aliceOrders: string[]
    /** The demo concert `npm start` schedules on an empty catalog, and its performances. */
    concerts: string[]
    performances: string[]
    /** Alice's two held seats; Bob's held seat and the one he paid for. */
    aliceReservations: string[]
    bobReservations: string[]
    bobPayments: string[]
    /** Alice's queue token (ACTIVE) and Bob's (COMPLETED by his payment). */
    queueTokens: string[]
    bobOrders: string[]
    memberIds: string[]
    subscriptions: string[]
    consumerSchemas: string[]
  }
}

const PASSWORD = 'correct horse battery'
/** Setup and refresh requests come from addresses of their own, so the fuzz's sign-in limits never hold them. */
let setupAddress = 0
const setupHeaders = () => ({ 'X-Forwarded-For': `10.77.${Math.floor(++setupAddress / 250)}.${setupAddress % 250}` })

function expectStatus<T>(answer: Answer<T>, status: number, what: string): T {
  if (answer.status !== status) throw new Error(`fuzz setup: ${what} answered ${answer.status}: ${JSON.stringify(answer.body)}`)
  return answer.body
}

/**
 * Signs up the fuzz's members (alice and bob, staff, an operator), revokes one member's token, writes
 * posts, comments, a notification, orders (one paid and shipped), a charged wallet, the demo concert, and
 * forges tokens; all through the API.
 */
export async function buildWorld(baseUrl: URL, db: Database, secrets: { operatorSecret: string; serviceCredential: string }): Promise<World> {
  const api = new BoardClient(baseUrl.origin)
  const tag = Date.now().toString(36)
  const join = async (name: string): Promise<WorldMember> => {
    const nickname = `${name}_${tag}`
    const email = `${nickname}@example.com`
    const joined = expectStatus(await api.call<{ memberId: string }>('POST', '/api/members', { body: { email, password: PASSWORD, nickname }, headers: setupHeaders() }), 201, `sign-up of ${name}`)
    const member = { memberId: joined.memberId, email, password: PASSWORD, nickname, token: '' }
    member.token = await logIn(api, member)
    return member
  }
  const [alice, bob, staff, oper, carol, dave, erin] = [await join('alice'), await join('bob'), await join('staff'), await join('oper'), await join('carol'), await join('dave'), await join('erin')]
  for (const [member, roles] of [[staff, ['staff']], [oper, ['operator']]] as const) {
    expectStatus(await api.call('PUT', `/api/members/${member.memberId}/roles`, { token: secrets.operatorSecret, body: { roles } }), 200, 'granting a role')
    member.token = await logIn(api, member)
  }
  const revokedToken = carol.token
  expectStatus(await api.call('POST', '/api/auth/logout', { token: carol.token }), 204, 'log-out')

  const post = async (who: WorldMember, title: string) => expectStatus(await api.call<{ postId: string }>('POST', '/api/posts', { token: who.token, body: { title, content: `${title}, said ${who.nickname}` } }), 201, 'a post').postId
  const comment = async (who: WorldMember, postId: string) => expectStatus(await api.call<{ commentId: string }>('POST', `/api/posts/${postId}/comments`, { token: who.token, body: { content: `a comment by ${who.nickname}` } }), 201, 'a comment').commentId
  const alicePost = await post(alice, 'Alice writes')
  const bobPost = await post(bob, 'Bob writes')
  const sparePosts = [await post(alice, 'Alice again'), await post(bob, 'Bob again')]
  const deletedPost = await post(alice, 'Gone soon')
  expectStatus(await api.call('DELETE', `/api/posts/${deletedPost}`, { token: alice.token }), 204, 'deleting a post')
  const bobComment = await comment(bob, alicePost)
  const aliceComment = await comment(alice, bobPost)
  const deletedComment = await comment(bob, alicePost)
  const spareComments = [await comment(alice, alicePost), await comment(bob, bobPost)]
  expectStatus(await api.call('DELETE', `/api/comments/${deletedComment}`, { token: bob.token }), 204, 'deleting a comment')

  expectStatus(await api.call('POST', `/api/customers/${alice.memberId}/credit`, { token: oper.token, body: { amount: 1_000_000 } }), 200, 'adding credit')
  const order = async (who: WorldMember) =>
    expectStatus(await api.call<{ orderId: string }>('POST', '/api/orders', { token: who.token, body: { items: [{ sku: 'tea', qty: 2, unitPrice: 350 }], shippingAddress: '1 Fuzz Lane' } }), 201, 'an order').orderId
  const paidOrder = await order(alice)
  const secondOrder = await order(alice)
  const bobOrder = await order(bob)
  // Delivery makes the delivery once payment completes: then staff can ship it.
  await eventually(async () => (await api.call('GET', `/api/deliveries/${paidOrder}`, { token: staff.token })).status === 200, 'the paid order\'s delivery')
  const shipped = await api.call('POST', `/api/deliveries/${paidOrder}/ship`, { token: staff.token })
  if (shipped.status !== 200 && shipped.status !== 202) throw new Error(`fuzz setup: shipping answered ${shipped.status}: ${JSON.stringify(shipped.body)}`)
  let aliceNotifications: string[] = []
  await eventually(async () => {
    aliceNotifications = (await api.call<{ items: Array<{ notificationId: string }> }>('GET', '/api/notifications', { token: alice.token })).body.items.map((n) => n.notificationId)
    return aliceNotifications.length > 0
  }, 'a notification')

  const catalog = (await api.call<{ items: Array<{ concertId: string; performances: Array<{ performanceId: string }> }> }>('GET', '/api/concerts')).body.items
  if (catalog.length === 0) throw new Error('fuzz setup: npm start scheduled no demo concert')
  const performances = catalog.flatMap((c) => c.performances.map((p) => p.performanceId))
  expectStatus(await api.call('POST', '/api/wallet/charges', { token: alice.token, body: { amount: 100_000 } }), 200, 'charging a wallet')
  const queue = async (member: WorldMember) =>
    expectStatus(await api.call<{ token: string }>('POST', `/api/concerts/${catalog[0]!.concertId}/queue`, { token: member.token }), 201, 'joining the waiting room').token
  const queueTokens = { alice: await queue(alice), bob: await queue(bob) }
  const holdSeat = async (member: WorldMember, queueToken: string, seatNo: number) =>
    expectStatus(
      await api.call<{ reservationId: string }>('POST', '/api/reservations', { token: member.token, headers: { 'Queue-Token': queueToken }, body: { performanceId: performances[0], seatNo } }),
      201,
      'holding a seat',
    ).reservationId
  const [alicePaid, aliceHeld, bobHeld] = [await holdSeat(alice, queueTokens.alice, 1), await holdSeat(alice, queueTokens.alice, 2), await holdSeat(bob, queueTokens.bob, 3)]
  // Bob pays (his token is COMPLETED by it); Alice's stays ACTIVE for the fuzz.
  expectStatus(await api.call('POST', '/api/wallet/charges', { token: bob.token, body: { amount: 100_000 } }), 200, 'charging a wallet')
  const bobPaid = await holdSeat(bob, queueTokens.bob, 4)
  const payment = await api.call<{ paymentId: string }>('POST', '/api/payments', { token: bob.token, headers: { 'Idempotency-Key': 'fuzz-setup-payment', 'Queue-Token': queueTokens.bob }, body: { reservationId: bobPaid } })
  expectStatus(payment, 201, 'paying for a seat')

  const consumers = await db.query<{ consumer: string; schema: string }>(
    `SELECT DISTINCT consumer, table_schema AS schema FROM (${(await consumerSchemas(db)).map((s) => `SELECT consumer, '${s}' AS table_schema FROM "${s}".checkpoints`).join(' UNION ALL ')}) c`,
  )
  const world: World = {
    baseUrl,
    origin: baseUrl.origin,
    ...secrets,
    members: { alice, bob, staff, oper },
    victims: [dave.email, erin.email, carol.email],
    revokedToken,
    forged: await forgeTokens(db, alice),
    consoleSession: await consoleSession(baseUrl, secrets.operatorSecret),
    ids: {
      alicePosts: [alicePost],
      bobPosts: [bobPost],
      deletedPosts: [deletedPost],
      sparePosts,
      spareComments,
      aliceComments: [aliceComment],
      bobComments: [bobComment],
      deletedComments: [deletedComment],
      aliceNotifications,
      aliceOrders: [paidOrder, secondOrder],
      concerts: catalog.map((c) => c.concertId),
      performances,
      aliceReservations: [alicePaid, aliceHeld],
      bobReservations: [bobHeld, bobPaid],
      bobPayments: [payment.body.paymentId],
      queueTokens: [queueTokens.alice, queueTokens.bob],
      bobOrders: [bobOrder],
      memberIds: [alice, bob, staff, oper, carol, dave, erin].map((m) => m.memberId),
      subscriptions: [...new Set(consumers.rows.map((r) => r.consumer))],
      consumerSchemas: [...new Set(consumers.rows.map((r) => r.schema))],
    },
  }
  return world
}

/** The schemas holding consumers' checkpoints. */
export async function consumerSchemas(db: Database): Promise<string[]> {
  const result = await db.query<{ schema: string }>(`SELECT table_schema AS schema FROM information_schema.tables WHERE table_name = 'checkpoints' ORDER BY 1`)
  return result.rows.map((r) => r.schema)
}

async function logIn(api: BoardClient, member: Pick<WorldMember, 'email' | 'password'>): Promise<string> {
  return expectStatus(await api.call<{ token: string }>('POST', '/api/auth/login', { body: { email: member.email, password: member.password }, headers: setupHeaders() }), 200, `log-in of ${member.email}`).token
}

/**
 * After a fuzzed request revoked a member's tokens (log-out, a password change): log in again, and give
 * staff and the operator their role back first (a fuzzed roles change may have taken it).
 */
export async function refreshMember(world: World, who: MemberName): Promise<void> {
  const api = new BoardClient(world.baseUrl.origin)
  const member = world.members[who]
  const roles = who === 'staff' ? ['staff'] : who === 'oper' ? ['operator'] : undefined
  if (roles) expectStatus(await api.call('PUT', `/api/members/${member.memberId}/roles`, { token: world.operatorSecret, body: { roles } }), 200, 'granting a role again')
  member.token = await logIn(api, member)
}

export function resolveCredential(world: World, credential: Credential): string {
  switch (credential.kind) {
    case 'token':
      return world.members[credential.who].token
    case 'revoked':
      return world.revokedToken
    case 'forged':
      return world.forged[credential.name] ?? 'forged-token-missing'
    case 'operatorSecret':
      return world.operatorSecret
    case 'serviceCredential':
      return world.serviceCredential
    case 'raw':
      return credential.value
  }
}

const b64 = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')

/** Every forged token of `FORGED`, aimed at alice: none may get past the door (`INVALID_TOKEN`, `TOKEN_EXPIRED`, `TOKEN_REVOKED`). */
async function forgeTokens(db: Database, alice: WorldMember): Promise<Record<string, string>> {
  const stored = await db.query<{ kid: string; private_jwk: Record<string, string>; public_jwk: Record<string, string> }>('SELECT kid, private_jwk, public_jwk FROM identity_member.signing_keys ORDER BY signs_from DESC LIMIT 1')
  const real = stored.rows[0]
  if (!real) throw new Error('fuzz setup: no signing key in identity_member.signing_keys')
  const realKey = createPrivateKey({ key: real.private_jwk, format: 'jwk' })
  const stranger = generateKeyPairSync('ed25519').privateKey
  const now = Math.floor(Date.now() / 1000)
  const claims = { iss: 'tidings.identity', sub: alice.memberId, roles: [], tv: 0, jti: randomUUID(), iat: now, exp: now + 3600 }
  const eddsa = (key: KeyObject, header: unknown, payload: unknown): string => {
    const input = `${b64(header)}.${b64(payload)}`
    return `${input}.${sign(null, Buffer.from(input), key).toString('base64url')}`
  }
  const hs256 = (secret: string, payload: unknown): string => {
    const input = `${b64({ alg: 'HS256', typ: 'JWT', kid: real.kid })}.${b64(payload)}`
    return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
  }
  const realHeader = { alg: 'EdDSA', typ: 'JWT', kid: real.kid }
  const byRealKey = (payload: unknown, header: unknown = realHeader) => eddsa(realKey, header, payload)
  const [head, body, signature] = alice.token.split('.') as [string, string, string]
  const flipped = signature.slice(0, 10) + (signature[10] === 'A' ? 'B' : 'A') + signature.slice(11)
  const forged: Record<(typeof FORGED)[number], string> = {
    'alg-none': `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`,
    'alg-none-uppercase': `${b64({ alg: 'NONE', typ: 'JWT', kid: real.kid })}.${b64(claims)}.`,
    'hs256-guessed-key': hs256('secret', claims),
    'hs256-public-key': hs256(JSON.stringify(real.public_jwk), claims),
    'stranger-key': eddsa(stranger, { alg: 'EdDSA', typ: 'JWT', kid: randomUUID() }, claims),
    'stranger-key-real-kid': eddsa(stranger, realHeader, claims),
    'real-key-expired': byRealKey({ ...claims, iat: now - 7200, exp: now - 3600 }),
    'real-key-future-iat': byRealKey({ ...claims, iat: now + 86_400, exp: now + 90_000 }),
    'real-key-wrong-issuer': byRealKey({ ...claims, iss: 'evil' }),
    'real-key-subject-not-uuid': byRealKey({ ...claims, sub: "alice' OR 1=1" }),
    'real-key-unknown-member': byRealKey({ ...claims, sub: randomUUID() }),
    'real-key-roles-string': byRealKey({ ...claims, roles: 'operator' }),
    'real-key-roles-unknown': byRealKey({ ...claims, roles: ['admin'] }),
    'real-key-tv-negative': byRealKey({ ...claims, tv: -1 }),
    'real-key-tv-string': byRealKey({ ...claims, tv: '0' }),
    'real-key-no-jti': byRealKey({ ...claims, jti: undefined }),
    'real-key-crit-header': byRealKey(claims, { ...realHeader, crit: ['exp'] }),
    'real-key-kid-object': byRealKey(claims, { ...realHeader, kid: { $ne: null } }),
    'real-key-payload-array': byRealKey([claims]),
    'real-key-payload-null': byRealKey(null),
    'signature-flipped': `${head}.${body}.${flipped}`,
    truncated: alice.token.slice(0, -12),
    'two-dots-only': '..',
    'four-parts': `${alice.token}.${signature}`,
    'not-base64': `${head}.${body}!.${signature}`,
    huge: `${head}.${'A'.repeat(5000)}.${signature}`,
  }
  return forged
}

/** Signs in to the console with the operator token, as its form does; undefined when the console has no sessions. */
async function consoleSession(baseUrl: URL, operatorSecret: string): Promise<string | undefined> {
  const response = await fetch(new URL('/console/session', baseUrl), {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: baseUrl.origin },
    body: new URLSearchParams({ token: operatorSecret }),
    redirect: 'manual',
  })
  await response.body?.cancel()
  const cookie = response.headers.getSetCookie().find((c) => c.startsWith('tidings_console='))
  return cookie?.split(';')[0]?.slice('tidings_console='.length)
}

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`fuzz setup: waited ${timeoutMs} ms for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
