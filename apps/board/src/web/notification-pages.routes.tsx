import { Hono } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { NotificationList } from './api-types'
import { formGuard } from './form-guard'
import { NotificationsPage } from './notifications.page'
import { isId } from './post-pages.routes'
import { type WebDeps, type WebRequest, webOf } from './web-request'

/** The member's notifications, marking them read, and the live stream the browser script listens to. */
export function notificationPages(deps: WebDeps): Hono {
  const routes = new Hono()

  routes.get('/notifications', async (c) => notificationsPage(webOf(c, deps)))

  routes.post('/notifications/:notificationId/read', formGuard(), async (c) => {
    const web = webOf(c, deps)
    const notificationId = c.req.param('notificationId')
    if (!isId(notificationId)) return notificationsPage(web, { status: 404, code: 'NOTIFICATION_NOT_FOUND', detail: 'There is no such notification.' })
    const marked = await web.api.call('POST', `/api/notifications/${notificationId}/read`, { auth: 'required' })
    if (marked.ok) return c.redirect('/notifications', 303)
    return notificationsPage(web, marked.problem)
  })

  // EventSource cannot send an Authorization header, and the token must not reach the page's script: the
  // pages relay the API's stream with the cookie's token, for as long as the browser listens.
  routes.get('/notifications/stream', async (c) => {
    const web = webOf(c, deps)
    if (!web.api.hasSession) return c.text('Log in to receive notifications.', 401)
    const upstream = await deps.api('/api/notifications/stream', {
      headers: { Authorization: `Bearer ${web.api.bearer()}`, Accept: 'text/event-stream' },
      signal: c.req.raw.signal,
    })
    if (upstream.status === 401) {
      await upstream.body?.cancel()
      web.api.signOut()
      return c.text('Log in to receive notifications.', 401)
    }
    const headers: Record<string, string> = {}
    for (const name of ['Content-Type', 'Cache-Control']) {
      const value = upstream.headers.get(name)
      if (value !== null) headers[name] = value
    }
    const status = upstream.status as ContentfulStatusCode
    return upstream.body ? c.body(upstream.body, status, headers) : c.body(null, status, headers)
  })

  return routes
}

async function notificationsPage(web: WebRequest, problem?: { status: number; code: string; detail: string }): Promise<Response> {
  await web.member()
  const list = await web.api.call<NotificationList>('GET', '/api/notifications?limit=50', { auth: 'required' })
  const items = list.ok ? list.body.items : []
  const shown = problem ?? (list.ok ? undefined : list.problem)
  return web.render({ title: 'Notifications', section: 'notifications' }, <NotificationsPage items={items} problem={shown} />, (shown?.status ?? 200) as ContentfulStatusCode)
}
