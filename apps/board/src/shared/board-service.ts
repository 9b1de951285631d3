import type { Hono } from 'hono'
import type { Service } from '@tidings/http'
import type { MemberEnv } from '@tidings/auth'

/** Routes of a board service; signed-in routes find the member in `c.get('memberId')`. */
export type BoardRoutes = Hono<MemberEnv>

export type BoardService = Service<MemberEnv>
