import { Hono } from 'hono'
import * as z from 'zod'
import { requireMember, type MemberEnv, type TokenVerifier } from '@tidings/auth'
import type { Clock } from '@tidings/core'
import { NO_STORE, uuid, validParams } from '@tidings/http'
import { ConcertNotFound } from '../concert/concert'
import type { WaitingRoom } from './waiting-room.service'
import { QUEUE_TOKEN_PATTERN, QueueTokenNotFound } from './waiting-room'

const ConcertParams = z.object({ concertId: uuid })
const TokenParams = z.object({ token: z.string().regex(QUEUE_TOKEN_PATTERN, 'must be a queue token') })

/**
 * The waiting room over HTTP: a member joins a concert's room (their live token again if they have one),
 * anyone holding a token reads its status (a read counts as the holder being present), and its member
 * leaves (the place goes to the next one).
 */
export function waitingRoutes(deps: { room: WaitingRoom; verify: TokenVerifier; concertExists: (concertId: string) => Promise<boolean>; clock: Clock }): Hono<MemberEnv> {
  const { room, verify } = deps
  const routes = new Hono<MemberEnv>()

  routes.post('/api/concerts/:concertId/queue', requireMember(verify), validParams(ConcertParams), async (c) => {
    const { concertId } = c.req.valid('param')
    if (!(await deps.concertExists(concertId))) throw new ConcertNotFound(concertId)
    const { view, created } = await room.join(concertId, c.get('memberId'))
    return c.json(view, created ? 201 : 200, NO_STORE)
  })

  routes.get('/api/queue/:token', validParams(TokenParams), async (c) => {
    const view = await room.status(c.req.valid('param').token)
    if (!view) throw new QueueTokenNotFound()
    return c.json(view, 200, NO_STORE)
  })

  routes.delete('/api/queue/:token', requireMember(verify), validParams(TokenParams), async (c) => {
    const view = await room.leave(c.req.valid('param').token, c.get('memberId'))
    if (!view) throw new QueueTokenNotFound()
    return c.json(view, 200, NO_STORE)
  })

  return routes
}
