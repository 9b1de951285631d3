import fc from 'fast-check'
import * as z from 'zod'
import { ROLES } from '@tidings/auth'
import { userText } from '@tidings/http'
import { authSpec, credential } from './auth.arbitraries'
import type { FuzzRequest } from './fuzz-request'
import type { World } from './fuzz-world'
import { encodeSegment, idSegment, nastyString } from './garbage.arbitraries'
import { app, routeRequest } from './request.arbitraries'
import { EMAIL, jsonBody } from './schema.arbitraries'
import { forwardedFor } from './headers.arbitraries'

// The identity routes' bodies, as `member.routes.ts` declares them (its schemas are its own, so they are
// written again here from the same building blocks; refinements come back as hints).
const Nickname = userText(2, 20)
const Email = z.string().max(254).pipe(z.email())
const Password = z.string().min(8).max(128)
const SignUpBody = z.object({ email: Email, password: Password, nickname: Nickname })
const LoginBody = z.object({ email: z.string().max(254), password: z.string().max(128) })
const PasswordBody = z.object({ currentPassword: z.string().max(128), newPassword: Password })
const RolesBody = z.object({ roles: z.array(z.enum(ROLES)).max(ROLES.length) })
const NicknameBody = z.object({ nickname: Nickname })

const nickname = fc.oneof(
  { arbitrary: fc.stringMatching(/^[a-z0-9_.-]{2,20}$/), weight: 6 },
  { arbitrary: fc.string({ unit: 'grapheme', minLength: 2, maxLength: 20 }), weight: 2 },
  { arbitrary: fc.constantFrom('ab', 'a'.repeat(20), 'a'.repeat(21), 'a', 'Ａｎｎ', 'ann\u0301', 'a\u202Eb', 'a b', 'ad\u200Bmin', '..', '--', '__proto__'), weight: 2 },
  { arbitrary: nastyString, weight: 2 },
)
const password = fc.oneof(
  { arbitrary: fc.string({ minLength: 8, maxLength: 40 }), weight: 6 },
  { arbitrary: fc.constantFrom(' '.repeat(8), '\t\t\t\t\t\t\t\t', 'a'.repeat(128), 'a'.repeat(129), 'short', 'pässwörd🔑🔑', '\u0000'.repeat(8)), weight: 2 },
  { arbitrary: nastyString, weight: 1 },
)

export function identityRequests(world: World): fc.Arbitrary<FuzzRequest> {
  const { alice, bob, staff, oper } = world.members
  const takenEmails = [alice.email, bob.email, ...world.victims]
  const email = fc.oneof(
    { arbitrary: fc.emailAddress().filter((e) => e.length <= 254), weight: 6 },
    { arbitrary: fc.constantFrom(...takenEmails, alice.email.toUpperCase(), ` ${bob.email} `), weight: 2 },
    { arbitrary: fc.constantFrom('a@b', 'not an email', '@example.com', 'x@', 'a@b..c', 'a@[127.0.0.1]', '"a b"@example.com', 'ä@例え.jp', 'a\u0000@example.com'), weight: 2 },
    { arbitrary: nastyString, weight: 1 },
  )
  const newEmail = fc.stringMatching(EMAIL).filter((e) => e.length <= 254)
  const loginEmail = fc.oneof({ arbitrary: fc.constantFrom(...world.victims), weight: 4 }, { arbitrary: email, weight: 3 })
  const loginPassword = fc.oneof({ arbitrary: fc.constant(alice.password), weight: 2 }, { arbitrary: password, weight: 3 })
  const goodPassword = fc.string({ minLength: 8, maxLength: 40 }).filter((p) => p.replace(/\s/g, '').length >= 8)
  const goodNickname = fc.stringMatching(/^[a-z0-9_.-]{2,20}$/)
  const takenNicknames = fc.constantFrom(alice.nickname, bob.nickname.toUpperCase(), staff.nickname)
  const anyNickname = fc.oneof({ arbitrary: nickname, weight: 4 }, { arbitrary: takenNicknames, weight: 1 })
  const me = fc.constant('/api/members/me')
  // The sign-in limits count per address: each of these comes from one of a pool of addresses.
  const fromAddress = forwardedFor.map((address) => ({ 'x-forwarded-for': address }))
  const members = authSpec()

  return app(
    [6, routeRequest({ route: 'POST /api/members', method: 'POST', path: fc.constant('/api/members'), auth: authSpec({ none: 10 }), headers: fromAddress, body: jsonBody(SignUpBody, { email: { valid: newEmail, any: email }, password: { valid: goodPassword, any: password }, nickname: { valid: goodNickname, any: anyNickname } }) })],
    [5, routeRequest({ route: 'POST /api/auth/login', method: 'POST', path: fc.constant('/api/auth/login'), auth: authSpec({ none: 10 }), headers: fromAddress, body: jsonBody(LoginBody, { email: { valid: fc.constantFrom(...world.victims), any: loginEmail }, password: { valid: fc.constant(alice.password), any: loginPassword } }) })],
    [2, routeRequest({ route: 'POST /api/auth/logout', method: 'POST', path: fc.constant('/api/auth/logout'), auth: authSpec({ credentials: credential({ token: 2, forged: 6 }) }) })],
    [3, routeRequest({ route: 'PUT /api/members/me/password', method: 'PUT', path: fc.constant('/api/members/me/password'), auth: authSpec({ credentials: credential({ token: 3, forged: 4 }) }), body: jsonBody(PasswordBody, { currentPassword: { valid: fc.constant(alice.password), any: fc.oneof(fc.constant(alice.password), password) }, newPassword: { valid: goodPassword, any: password } }) })],
    [4, routeRequest({ route: 'GET /api/members/me', method: 'GET', path: me, auth: members })],
    [4, routeRequest({ route: 'PATCH /api/members/me', method: 'PATCH', path: me, auth: members, body: jsonBody(NicknameBody, { nickname: { valid: goodNickname, any: anyNickname } }) })],
    [
      4,
      routeRequest({
        route: 'PUT /api/members/:memberId/roles',
        method: 'PUT',
        path: idSegment(world.ids.memberIds.filter((id) => id !== staff.memberId && id !== oper.memberId)).map((id) => `/api/members/${id}/roles`),
        auth: authSpec({ credentials: credential({ secrets: 8 }) }),
        body: jsonBody(RolesBody),
      }),
    ],
    [3, routeRequest({ route: 'GET /api/members/nicknames/:nickname', method: 'GET', path: anyNickname.map((n) => `/api/members/nicknames/${encodeSegment(n).slice(0, 4000)}`) })],
    [1, routeRequest({ route: 'GET /.well-known/jwks.json', method: 'GET', path: fc.oneof({ arbitrary: fc.constant('/.well-known/jwks.json'), weight: 6 }, { arbitrary: fc.constantFrom('/.well-known/jwks.json/', '/.well-known/', '/.well-known/jwks.json%00'), weight: 1 }) })],
  )
}
