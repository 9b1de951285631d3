import type { GatewayRoutes } from '@tidings/cluster'
import { JWKS_PATH } from '@tidings/auth'

/** The identity service's public paths: sign-up, log-in, a member's own account, and the public keys. */
export const identityGatewayRoutes: GatewayRoutes = [
  [/^\/api\/(members|auth)(\/|$)/, 'identity.member'],
  [new RegExp(`^${JWKS_PATH.replace(/\./g, '\\.')}$`), 'identity.member'],
]
