import { Hono } from 'hono'
import * as z from 'zod'
import { httpStateLookup, serviceHeaders, validParams } from '@tidings/http'
import { QueueTokenNotFound, QUEUE_TOKEN_PATTERN } from './waiting-room'
import type { QueuePass, QueuePassLookup } from './queue-pass'

const TokenParams = z.object({ token: z.string().regex(QUEUE_TOKEN_PATTERN, 'must be a queue token') })
const QueuePassState = z.object({ concertId: z.string(), memberId: z.string(), status: z.enum(['WAITING', 'ACTIVE', 'EXPIRED', 'COMPLETED']), activeUntil: z.string().nullable() })

export const queuePassPath = (token: string): string => `/internal/queue-tokens/${token}`

/** The waiting room's service route: what a token allows (the deployment's service credential only). */
export function queuePassRoutes(room: { pass: QueuePassLookup }): Hono {
  return new Hono().get(queuePassPath(':token'), validParams(TokenParams), async (c) => {
    const pass: QueuePass | undefined = await room.pass(c.req.valid('param').token)
    if (!pass) throw new QueueTokenNotFound()
    return c.json(pass)
  })
}

/** The lookup across processes, with the service credential. */
export function queuePassLookupOverHttp(baseUrl: string, serviceCredential: string): QueuePassLookup {
  return httpStateLookup({ baseUrl, path: queuePassPath, parse: (body) => QueuePassState.parse(body), headers: serviceHeaders(serviceCredential) })
}
