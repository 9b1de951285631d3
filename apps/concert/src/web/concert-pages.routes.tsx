import { Hono } from 'hono'
import { formGuard, isId, webOf } from '@tidings/board'
import type { ConcertList, QueueView } from './api-types'
import { ConcertListPage } from './concert-list.page'
import { ConcertPage } from './concert.page'
import { type ConcertWebDeps, concertOf, NO_CONCERT, notFound, refused } from './concert-web-request'
import { QueuePage } from './queue.page'

/** The catalog, a concert, and the queue: joining it, the member's place in it, leaving it. */
export function concertPages(deps: ConcertWebDeps): Hono {
  const routes = new Hono()
  const guard = formGuard()

  routes.get('/concerts', async (c) => {
    const web = webOf(c, deps)
    const after = c.req.query('after')
    const [list, viewer] = await Promise.all([web.api.call<ConcertList>('GET', `/api/concerts?limit=20${isId(after) ? `&after=${after}` : ''}`), web.viewer()])
    if (!list.ok) return refused(web, list.problem)
    return web.render({ title: 'Concerts', section: 'concerts' }, <ConcertListPage concerts={list.body.items} signedIn={!!viewer} later={list.body.nextCursor} now={new Date()} />)
  })

  routes.get('/concerts/:concertId', async (c) => {
    const web = webOf(c, deps)
    const [concert, viewer] = await Promise.all([concertOf(web, c.req.param('concertId')), web.viewer()])
    if (!concert.ok) return refused(web, concert.problem, NO_CONCERT)
    return web.render({ title: concert.body.title }, <ConcertPage concert={concert.body} signedIn={!!viewer} now={new Date()} />)
  })

  routes.post('/concerts/:concertId/queue', guard, async (c) => {
    const web = webOf(c, deps)
    const concertId = c.req.param('concertId')
    await web.member()
    if (!isId(concertId)) return refused(web, notFound(NO_CONCERT), NO_CONCERT)
    const joined = await web.api.call<QueueView>('POST', `/api/concerts/${concertId}/queue`, { auth: 'required' })
    if (!joined.ok) return refused(web, joined.problem, NO_CONCERT)
    deps.queue.remember(c, concertId, joined.body.token)
    return c.redirect(`/concerts/${concertId}/queue`, 303)
  })

  routes.get('/concerts/:concertId/queue', async (c) => {
    const web = webOf(c, deps)
    const concertId = c.req.param('concertId')
    await web.member()
    const concert = await concertOf(web, concertId)
    if (!concert.ok) return refused(web, concert.problem, NO_CONCERT)
    const token = deps.queue.token(c)
    // Not in the queue (or the room has forgotten the token): the concert page has the way in.
    if (token === undefined) return c.redirect(`/concerts/${concertId}`, 303)
    const view = await web.api.call<QueueView>('GET', `/api/queue/${token}`)
    if (!view.ok && view.status === 404) {
      deps.queue.forget(c, concertId)
      return c.redirect(`/concerts/${concertId}`, 303)
    }
    if (!view.ok) return refused(web, view.problem)
    return web.render({ title: 'Your place in the queue' }, <QueuePage concert={concert.body} view={view.body} />)
  })

  routes.post('/concerts/:concertId/queue/leave', guard, async (c) => {
    const web = webOf(c, deps)
    const concertId = c.req.param('concertId')
    const token = deps.queue.token(c)
    if (token !== undefined && isId(concertId)) {
      const left = await web.api.call('DELETE', `/api/queue/${token}`, { auth: 'required' })
      // Gone already is as good as left; any other refusal is the member's to see.
      if (!left.ok && left.status !== 404) return refused(web, left.problem)
      deps.queue.forget(c, concertId)
    }
    return c.redirect(isId(concertId) ? `/concerts/${concertId}` : '/concerts', 303)
  })

  return routes
}
