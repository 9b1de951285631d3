import fc from 'fast-check'
import type { AuthSpec, Credential, MemberName, Placement } from './fuzz-request'

/** The forged tokens the world makes (see `forgeTokens`): every one must be refused. */
export const FORGED = [
  'alg-none',
  'alg-none-uppercase',
  'hs256-guessed-key',
  'hs256-public-key',
  'stranger-key',
  'stranger-key-real-kid',
  'real-key-expired',
  'real-key-future-iat',
  'real-key-wrong-issuer',
  'real-key-subject-not-uuid',
  'real-key-unknown-member',
  'real-key-roles-string',
  'real-key-roles-unknown',
  'real-key-tv-negative',
  'real-key-tv-string',
  'real-key-no-jti',
  'real-key-crit-header',
  'real-key-kid-object',
  'real-key-payload-array',
  'real-key-payload-null',
  'signature-flipped',
  'truncated',
  'two-dots-only',
  'four-parts',
  'not-base64',
  'huge',
] as const

/** Authorization header shapes around a credential; only the first is what a client should send. */
const TEMPLATES = ['Bearer {}', 'bearer {}', 'BEARER {}', 'Bearer  {}', 'Bearer {} ', 'Bearer {} extra', 'Bearer\t{}', 'Basic {}', '{}', 'Bearer {},{}', 'Bearer "{}"', 'Token {}']

const garbageCredential = fc.constantFrom(
  '',
  ' ',
  'null',
  'undefined',
  'Bearer',
  'a.b.c',
  '...',
  'eyJ.eyJ.',
  '\u00ff\u00fe\u0080',
  'x'.repeat(5000),
  'eyJhbGciOiJFZERTQSJ9.e30.',
  'eyJhbGciOiJFZERTQSIsImtpZCI6IjEifQ.eyJzdWIiOiIxIn0.AAAA',
)

const memberName = fc.constantFrom<MemberName>('alice', 'bob', 'staff', 'oper')

/** Any credential, weighted towards the ones that get past the door (so the routes behind it run). */
export function credential(weights: { token?: number; forged?: number; secrets?: number } = {}): fc.Arbitrary<Credential> {
  return fc.oneof(
    { arbitrary: memberName.map((who): Credential => ({ kind: 'token', who })), weight: weights.token ?? 10 },
    { arbitrary: fc.constant<Credential>({ kind: 'revoked' }), weight: 1 },
    { arbitrary: fc.constantFrom(...FORGED).map((name): Credential => ({ kind: 'forged', name })), weight: weights.forged ?? 4 },
    { arbitrary: fc.constantFrom<Credential>({ kind: 'operatorSecret' }, { kind: 'serviceCredential' }), weight: weights.secrets ?? 1 },
    { arbitrary: garbageCredential.map((value): Credential => ({ kind: 'raw', value })), weight: 2 },
  )
}

/** Where an API's credential goes: the Authorization header, mostly well formed. */
export const headerPlacement: fc.Arbitrary<Placement> = fc.oneof(
  { arbitrary: fc.constant<Placement>({ in: 'authorization', template: 'Bearer {}' }), weight: 12 },
  { arbitrary: fc.constantFrom(...TEMPLATES).map((template): Placement => ({ in: 'authorization', template })), weight: 3 },
  { arbitrary: fc.constant<Placement>({ in: 'query', name: 'access_token' }), weight: 1 },
)

/** No credential at all, or one of `credential()` in `placement`. */
export function authSpec(options: { none?: number; credentials?: fc.Arbitrary<Credential>; placement?: fc.Arbitrary<Placement> } = {}): fc.Arbitrary<AuthSpec | undefined> {
  return fc.oneof(
    { arbitrary: fc.constant(undefined), weight: options.none ?? 2 },
    { arbitrary: fc.record({ credential: options.credentials ?? credential(), placement: options.placement ?? headerPlacement }), weight: 10 },
  )
}
