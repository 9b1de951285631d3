import { Hono } from 'hono'
import { JWKS_PATH } from '@tidings/auth'
import type { SigningKeys } from './signing-keys'

/**
 * The public keys, for services in other processes to verify tokens with (`remoteKeys`). Cached for five
 * minutes: a new key is published ten minutes before it signs.
 */
export function jwksRoutes(keys: SigningKeys): Hono {
  return new Hono().get(JWKS_PATH, async (c) => c.json(await keys.jwks(), 200, { 'Cache-Control': 'public, max-age=300' }))
}
