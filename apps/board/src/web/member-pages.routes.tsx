import { Hono } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { LoginAnswer } from './api-types'
import { formFields, INVALID_FORM } from './form-fields'
import { formGuard } from './form-guard'
import { LoginPage } from './login.page'
import { safeNext } from './safe-next'
import { SignupPage } from './signup.page'
import { type WebDeps, webOf } from './web-request'

/** Signing up, logging in and out. The session is the API's token, kept in an HttpOnly cookie. */
export function memberPages(deps: WebDeps): Hono {
  const routes = new Hono()
  const guard = formGuard()

  routes.get('/signup', (c) => webOf(c, deps).render({ title: 'Sign up', section: 'signup' }, <SignupPage values={{ email: '', nickname: '' }} />))

  routes.post('/signup', guard, async (c) => {
    const web = webOf(c, deps)
    const fields = await formFields(c, ['email', 'password', 'nickname'])
    if (!fields) return web.render({ title: 'Sign up', section: 'signup' }, <SignupPage values={{ email: '', nickname: '' }} problem={INVALID_FORM} />, 400)
    const joined = await web.api.call('POST', '/api/members', { body: fields })
    if (!joined.ok) return web.render({ title: 'Sign up', section: 'signup' }, <SignupPage values={fields} problem={joined.problem} />, joined.status as ContentfulStatusCode)
    const login = await web.api.call<LoginAnswer>('POST', '/api/auth/login', { body: { email: fields.email, password: fields.password } })
    // Joined but not logged in (should not happen): the login form says why.
    if (!login.ok) return c.redirect('/login', 303)
    web.api.signIn(login.body.token, login.body.expiresAt)
    return c.redirect('/', 303)
  })

  routes.get('/login', (c) => webOf(c, deps).render({ title: 'Log in', section: 'login' }, <LoginPage email="" next={safeNext(c.req.query('next'))} />))

  routes.post('/login', guard, async (c) => {
    const web = webOf(c, deps)
    const fields = await formFields(c, ['email', 'password'], ['next'])
    if (!fields) return web.render({ title: 'Log in', section: 'login' }, <LoginPage email="" next="/" problem={INVALID_FORM} />, 400)
    const next = safeNext(fields.next)
    const login = await web.api.call<LoginAnswer>('POST', '/api/auth/login', { body: { email: fields.email, password: fields.password } })
    if (!login.ok) return web.render({ title: 'Log in', section: 'login' }, <LoginPage email={fields.email} next={next} problem={login.problem} />, login.status as ContentfulStatusCode)
    web.api.signIn(login.body.token, login.body.expiresAt)
    return c.redirect(next, 303)
  })

  // A POST, not a link: logging someone out must not be something another site can trigger with an <img>.
  routes.post('/logout', guard, (c) => {
    webOf(c, deps).api.signOut()
    return c.redirect('/', 303)
  })

  return routes
}
