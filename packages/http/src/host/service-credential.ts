import { randomBytes } from 'node:crypto'
import type { MiddlewareHandler } from 'hono'
import { TidingsError } from '@tidings/core'
import { secretMatcher } from '@tidings/auth'

/** The variable a deployment names its service credential in: every service process of it has the same one. */
export const SERVICE_TOKEN = 'TIDINGS_SERVICE_TOKEN'

/** The routes only services of the deployment may call: other services' latest state, and the feeds. */
export const SERVICE_ROUTES = ['/internal/*', '/api/feeds/*'] as const

export class ServiceCredentialRequired extends TidingsError {
  constructor() {
    super('SERVICE_CREDENTIAL_REQUIRED', 'unauthorized', 'This route answers only the services of this deployment')
  }
}

/**
 * A credential nobody outside this process knows: what a process that serves everything itself (`npm
 * start`) guards its service routes with, so that nothing of them is reachable from outside.
 */
export const processOnlyCredential = (): string => randomBytes(32).toString('base64url')

/** The deployment's service credential from the environment; a clear error when it is missing or short. */
export function serviceCredential(env: NodeJS.ProcessEnv): string {
  const token = env[SERVICE_TOKEN]
  if (!token) throw new Error(`${SERVICE_TOKEN} must be set: the services of one deployment share it to call each other's /internal and feed routes`)
  secretMatcher(token, SERVICE_TOKEN) // refuses a short one
  return token
}

/** Admits only a request that presents the service credential as its bearer token (401 otherwise). */
export function requireServiceCredential(credential: string): MiddlewareHandler {
  const matches = secretMatcher(credential, SERVICE_TOKEN)!
  return async (c, next) => {
    if (!matches(/^Bearer (\S+)$/.exec(c.req.header('Authorization') ?? '')?.[1])) throw new ServiceCredentialRequired()
    await next()
  }
}

/** The headers a service's client sends to another service's service routes. */
export const serviceHeaders = (credential: string): Record<string, string> => ({ Authorization: `Bearer ${credential}` })
