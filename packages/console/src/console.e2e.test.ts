import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ValidationFailed } from '@tidings/core'
import { createHttpApp, hostServices, serveHttp, serviceContext, type Host } from '@tidings/http'
import { eventually, openEventStream, testEngines } from '@tidings/testing'
import { consoleRoutes, MAX_LIVE_STREAMS, tailsOf } from './console.routes'
import type { EventTails } from './event-tail'
import type { ConsoleExplorer } from './explorer'
import { Operations } from './operations'
import { WeakOperatorToken } from './operator-auth'
import { fragileService, LABEL_PRINTER, PARCELS, type FragileService } from './test-kit/fragile-service'

const TOKEN = 'operator-secret-for-tests'
const AS_OPERATOR = { Authorization: `Bearer ${TOKEN}` }

/** A stand-in read model for the explorer form: finds animals by name. */
const animals: ConsoleExplorer = {
  name: 'animals',
  title: 'Animals',
  fields: [{ name: 'name', label: 'Name' }],
  async search({ name }) {
    if (name!.length > 10) throw new ValidationFailed([], 'Name: at most 10 characters')
    return [{ name: name!, legs: name === 'bird' ? 2 : 4, wild: true, note: '<b>bold?</b>' }]
  },
}

const engine = (await testEngines())[0]!

describe(`the console over HTTP on ${engine.name}`, () => {
  let fragile: FragileService
  /** The console's own tails, counted: its live streams must share one per feed. */
  let tails: EventTails
  let host: Host
  let base: string
  let stopServer: () => Promise<void>

  /** The console's data is the operator's: every read carries the token (or a signed-in session). */
  const view = (path: string, init: RequestInit = {}) => fetch(`${base}${path}`, { ...init, headers: { ...AS_OPERATOR, ...init.headers } })
  const post = (path: string, token?: string) => fetch(`${base}${path}`, { method: 'POST', headers: token ? { Authorization: `Bearer ${token}` } : {} })
  const problem = async (response: Response) => ({ status: response.status, code: ((await response.json()) as { code: string }).code })
  const parcel = async (body: { label: string; parcelId?: string; voided?: boolean }) => {
    const response = await fetch(`${base}/api/parcels`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
    expect(response.status).toBe(201)
  }
  const label = (text: string) => parcel({ label: text })
  const openLetters = async () => ((await (await view(`/console/api/overview`)).json()) as { deadLetters: Array<{ id: string; schema: string }> }).deadLetters

  beforeAll(async () => {
    const { db } = await engine.freshDatabase()
    const ctx = serviceContext({ db })
    fragile = await fragileService(ctx)
    host = hostServices(ctx, [fragile.service])
    const operations = Operations.of(db, [fragile.service], { alerts: ctx.alerts })
    tails = tailsOf(operations)
    host.http.route('/', consoleRoutes({ operations, operatorToken: TOKEN, explorers: [animals], tails }))
    await host.start()
    const server = await serveHttp(host.http, 0, { hostname: '127.0.0.1' })
    base = `http://127.0.0.1:${server.port}`
    stopServer = () => server.close()
  })
  afterAll(async () => {
    await host?.stop()
    await stopServer?.()
  })

  it('serves the page with the feeds, subscriptions and dead letters in the first paint', async () => {
    await label('first')
    const response = await view(`/console`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toContain('text/html')
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'")
    const page = await response.text()
    expect(page.startsWith('<!doctype html>')).toBe(true)
    expect(page).toContain(`<tr data-feed="${PARCELS}">`)
    expect(page).toContain(`data-subscription="${LABEL_PRINTER}"`)
    expect(page).toContain('<option value="ops.parcels">ops.parcels</option>')
    expect(page).toContain('src="/console/assets/console.js"')
    const script = await fetch(`${base}/console/assets/console.js`)
    expect(script.headers.get('content-type')).toContain('text/javascript')
    expect(await script.text()).toContain('EventSource')
  })

  it('shows a poison message in dead letters, escaped, with its error; replays it with the operator token after the fix', async () => {
    await label('poison <script>alert(1)</script>')
    const [letter] = await eventually(openLetters, (letters) => letters.length === 1, { what: 'a dead letter' })
    const fragment = await (await view(`/console/fragments/overview`)).text()
    expect(fragment).toContain(`data-dead-letter="${letter!.id}"`)
    expect(fragment).toContain('label printer jammed on &quot;poison &lt;script&gt;alert(1)&lt;/script&gt;&quot;')
    expect(fragment).not.toContain('<script>')
    // The dead letter also raised an alert, listed (escaped) under recent alerts.
    expect(fragment).toContain('data-alert="dead_letter" data-code="HANDLER_FAILED"')
    expect(fragment).toContain('gave up on ParcelLabelled: Error: label printer jammed on &quot;poison &lt;script&gt;')

    const path = `/console/api/dead-letters/${letter!.schema}/${letter!.id}/replay`
    expect(await problem(await post(path))).toEqual({ status: 401, code: 'OPERATOR_UNAUTHORIZED' })
    expect(await problem(await post(path, 'operator-secret-for-test'))).toEqual({ status: 401, code: 'OPERATOR_UNAUTHORIZED' })
    expect(await problem(await post(path, TOKEN))).toEqual({ status: 409, code: 'REPLAY_FAILED' })
    expect(await openLetters()).toHaveLength(1)

    fragile.printer.broken = false
    const replayed = await post(path, TOKEN)
    expect(replayed.status).toBe(200)
    expect(await replayed.json()).toEqual({ replayed: true, schema: letter!.schema, id: letter!.id })
    expect(await fragile.printed()).toEqual(['first', 'poison <script>alert(1)</script>'])
    expect(await openLetters()).toEqual([])
    expect(await problem(await post(path, TOKEN))).toEqual({ status: 409, code: 'ALREADY_REPLAYED' })
  })

  it('refuses unknown dead letters and subscriptions, and over-long names', async () => {
    expect(await problem(await post('/console/api/dead-letters/ops_fragile/424242/replay', TOKEN))).toEqual({ status: 404, code: 'DEAD_LETTER_NOT_FOUND' })
    expect(await problem(await post('/console/api/dead-letters/public/1/replay', TOKEN))).toEqual({ status: 404, code: 'DEAD_LETTER_NOT_FOUND' })
    expect(await problem(await post(`/console/api/dead-letters/ops_fragile/${'9'.repeat(40)}/replay`, TOKEN))).toEqual({ status: 400, code: 'VALIDATION' })
    expect(await problem(await post('/console/api/subscriptions/nope/reset', TOKEN))).toEqual({ status: 404, code: 'SUBSCRIPTION_NOT_FOUND' })
    expect(await problem(await post('/console/api/subscriptions/nope/reset'))).toEqual({ status: 401, code: 'OPERATOR_UNAUTHORIZED' })
  })

  it('rebuilds a subscription with the operator token', async () => {
    const response = await post(`/console/api/subscriptions/${LABEL_PRINTER}/reset`, TOKEN)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ reset: true, name: LABEL_PRINTER })
    await eventually(() => fragile.printed(), (printed) => printed.length === 2, { what: 'the rebuild' })
    expect(await fragile.printed()).toEqual(['first', 'poison <script>alert(1)</script>'])
  })

  it('streams new events live, filtered by feed, type and key', async () => {
    const all = await openEventStream(`${base}/console/api/events`, { headers: AS_OPERATOR })
    const voided = await openEventStream(`${base}/console/api/events?source=${PARCELS}&type=ParcelVoided`, { headers: AS_OPERATOR })
    const parcel7 = await openEventStream(`${base}/console/api/events?key=parcel-7`, { headers: AS_OPERATOR })
    const streams = [all, voided, parcel7]
    try {
      expect(all.response.headers.get('content-type')).toContain('text/event-stream')
      expect(JSON.parse((await all.next('ready')).data)).toEqual({ sources: [PARCELS] })
      expect(JSON.parse((await voided.next('ready')).data)).toEqual({ sources: [PARCELS] })
      await parcel7.next('ready')
      await parcel({ label: 'live one', parcelId: 'parcel-1' })
      await parcel({ label: 'gone', parcelId: 'parcel-1', voided: true })
      await parcel({ label: 'seventh', parcelId: 'parcel-7' })
      const seen = [await all.next('event'), await all.next('event'), await all.next('event')].map((e) => JSON.parse(e.data) as Record<string, unknown>)
      expect(seen.map((e) => [e.type, e.key, e.data])).toEqual([
        ['ParcelLabelled', 'parcel-1', '{"label":"live one"}'],
        ['ParcelVoided', 'parcel-1', '{"label":"gone"}'],
        ['ParcelLabelled', 'parcel-7', '{"label":"seventh"}'],
      ])
      expect(seen[0]).toMatchObject({ source: PARCELS, version: null, position: expect.any(String), occurredAt: expect.any(String) })
      // One feed is delivered in order, so the first event a filtered stream shows proves it skipped the earlier ones.
      expect(JSON.parse((await voided.next('event')).data)).toMatchObject({ id: seen[1]!.id })
      expect(JSON.parse((await parcel7.next('event')).data)).toMatchObject({ id: seen[2]!.id })
    } finally {
      for (const stream of streams) stream.close()
    }
  })

  it('refuses an unknown feed or an over-long filter before streaming', async () => {
    expect(await problem(await view(`/console/api/events?source=no.such.feed`))).toEqual({ status: 404, code: 'UNKNOWN_FEED' })
    expect(await problem(await view(`/console/api/events?type=${'x'.repeat(201)}`))).toEqual({ status: 400, code: 'VALIDATION' })
  })

  it('shows nothing without the operator token: the page asks to sign in, the data answers 401', async () => {
    const page = await fetch(`${base}/console?explorer=animals&name=bird`)
    expect(page.status).toBe(401)
    const text = await page.text()
    expect(text).toContain('<form method="post" action="/console/session"')
    expect(text).not.toContain(PARCELS)
    expect(text).not.toContain('bird')
    for (const headers of [{}, { Authorization: 'Bearer not-the-operator-token' }, { Cookie: 'tidings_console=9999999999999.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }] as Array<Record<string, string>>) {
      for (const path of ['/console/api/overview', '/console/fragments/overview', `/console/api/events?source=${PARCELS}`]) {
        expect({ path, ...(await problem(await fetch(`${base}${path}`, { headers }))) }).toEqual({ path, status: 401, code: 'OPERATOR_UNAUTHORIZED' })
      }
    }
  })

  it('signs in with a form: a session cookie (HttpOnly, SameSite=Strict, /console) shows the data; a wrong token, another origin or a forged cookie does not', async () => {
    const signIn = (token: string, headers: Record<string, string> = {}) =>
      fetch(`${base}/console/session`, { method: 'POST', redirect: 'manual', headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: base, ...headers }, body: new URLSearchParams({ token }) })
    const wrong = await signIn('not-the-operator-token')
    expect(wrong.status).toBe(401)
    expect(wrong.headers.get('set-cookie')).toBeNull()
    expect(await wrong.text()).toContain('That is not the operator token.')
    expect((await signIn(TOKEN, { Origin: 'https://evil.example' })).status).toBe(403)
    // A body that is not a form (a multipart without its boundary) is a 400, not a failure of ours.
    const broken = await fetch(`${base}/console/session`, { method: 'POST', headers: { 'Content-Type': 'multipart/form-data', Origin: base }, body: 'x' })
    expect(await problem(broken)).toEqual({ status: 400, code: 'VALIDATION' })
    // A token that is not UTF-8 is refused as such, not compared with U+FFFD in its place.
    for (const body of ['token=%FF', Buffer.from([...Buffer.from('token='), 0xff])]) {
      const notUtf8 = await fetch(`${base}/console/session`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: base }, body })
      expect(await problem(notUtf8)).toEqual({ status: 400, code: 'INVALID_UTF8' })
    }

    const signedIn = await signIn(TOKEN)
    expect(signedIn.status).toBe(303)
    expect(signedIn.headers.get('location')).toBe('/console')
    const cookie = signedIn.headers.get('set-cookie')!
    expect(cookie).toMatch(/^tidings_console=\d+\.[\w-]{43}; Max-Age=28800; Path=\/console; HttpOnly; SameSite=Strict$/)
    expect(cookie).not.toContain(TOKEN)
    const session = cookie.split(';')[0]!
    const page = await fetch(`${base}/console`, { headers: { Cookie: session } })
    expect(page.status).toBe(200)
    expect(await page.text()).toContain(`<tr data-feed="${PARCELS}">`)
    expect((await fetch(`${base}/console/api/overview`, { headers: { Cookie: session } })).status).toBe(200)
    const stream = await openEventStream(`${base}/console/api/events`, { headers: { Cookie: session } })
    await stream.next('ready')
    stream.close()
    // The cookie shows the data, it does not act: actions need the token itself (no cross-site request forgery).
    expect(await problem(await fetch(`${base}/console/api/subscriptions/${LABEL_PRINTER}/reset`, { method: 'POST', headers: { Cookie: session } }))).toEqual({ status: 401, code: 'OPERATOR_UNAUTHORIZED' })
    // A session is signed with the token: one whose signature or expiry was edited is no session.
    const [expires, mac] = session.slice('tidings_console='.length).split('.')
    // Every other spelling of the MAC's last character, including the three that decode to the same bytes.
    const respelled = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'].filter((c) => c !== mac!.at(-1)).map((c) => `${expires}.${mac!.slice(0, -1)}${c}`)
    for (const forged of [`${Number(expires) + 1}.${mac}`, ...respelled, `${Date.now() - 1}.${mac}`]) {
      expect((await fetch(`${base}/console/api/overview`, { headers: { Cookie: `tidings_console=${forged}` } })).status).toBe(401)
    }
    const signedOut = await fetch(`${base}/console/session/end`, { method: 'POST', redirect: 'manual', headers: { Cookie: session, Origin: base, 'Content-Type': 'application/x-www-form-urlencoded' } })
    expect(signedOut.status).toBe(303)
    expect(signedOut.headers.get('set-cookie')).toMatch(/^tidings_console=; Max-Age=0; Path=\/console/)
  })

  it(`allows ${MAX_LIVE_STREAMS} live streams at once, all on one tail per feed; the next is 429 until one closes`, async () => {
    const streams = await Promise.all(Array.from({ length: MAX_LIVE_STREAMS }, () => openEventStream(`${base}/console/api/events`, { headers: AS_OPERATOR })))
    try {
      for (const stream of streams) await stream.next('ready')
      const refused = await view('/console/api/events')
      expect(refused.headers.get('retry-after')).toBe('15')
      expect(await problem(refused)).toEqual({ status: 429, code: 'TOO_MANY_STREAMS' })
      await parcel({ label: 'seen by all', parcelId: 'parcel-9' })
      const ids = await Promise.all(streams.map(async (stream) => (JSON.parse((await stream.next('event')).data) as { id: string }).id))
      expect(new Set(ids).size).toBe(1)
      // Seen by all five through one reader of the feed (a tail per stream would be five).
      expect(tails.running).toBe(1)
    } finally {
      for (const stream of streams) stream.close()
    }
    // And the tail stops with its last watcher.
    await eventually(async () => tails.running, (running) => running === 0, { what: 'the tail to stop' })
    // A closed stream's place is free again once the server has noticed it went away.
    await eventually(async () => {
      const again = await view(`/console/api/events?source=${PARCELS}`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined)
      const status = again?.status
      await again?.body?.cancel()
      return status
    }, (status) => status === 200, { what: 'a free stream place' })
  })

  it('searches an explorer without script, escaping what it found, and explains bad input', async () => {
    const found = await view(`/console?explorer=animals&name=bird`)
    expect(found.status).toBe(200)
    const page = await found.text()
    expect(page).toContain('<td>bird</td><td>2</td><td>true</td><td>&lt;b&gt;bold?&lt;/b&gt;</td>')
    expect(page).toContain('value="bird"')
    const refused = await view(`/console?explorer=animals&name=${'x'.repeat(11)}`)
    expect(refused.status).toBe(400)
    expect(await refused.text()).toContain('<p role="alert" class="error">Name: at most 10 characters</p>')
    const empty = await view(`/console?explorer=animals&name=`)
    expect(empty.status).toBe(400)
    expect(await empty.text()).toContain('Give Name.')
  })
})

describe('the console without an operator token', () => {
  it('shows nothing (403) and says how to enable it; actions are disabled', async () => {
    const { db } = await engine.freshDatabase()
    const app = createHttpApp()
    app.route('/', consoleRoutes({ operations: new Operations({ db, feeds: [], subscriptions: [], consumerSchemas: [] }) }))
    const response = await app.request('/console/api/subscriptions/x/reset', { method: 'POST', headers: AS_OPERATOR })
    expect(response.status).toBe(403)
    expect(((await response.json()) as { code: string }).code).toBe('OPERATOR_DISABLED')
    for (const path of ['/console/api/overview', '/console/fragments/overview', '/console/api/events']) {
      const refused = await app.request(path, { headers: AS_OPERATOR })
      expect({ path, status: refused.status, code: ((await refused.json()) as { code: string }).code }).toEqual({ path, status: 403, code: 'OPERATOR_DISABLED' })
    }
    const page = await app.request('/console')
    expect(page.status).toBe(403)
    const text = await page.text()
    expect(text).toContain('Set <code>TIDINGS_OPERATOR_TOKEN</code>')
    expect(text).not.toContain('data-empty="dead-letters"')
  })

  it('a token shorter than 16 characters is refused at start', () => {
    expect(() => consoleRoutes({ operations: new Operations({ db: undefined as never, feeds: [], subscriptions: [], consumerSchemas: [] }), operatorToken: 'short' })).toThrow(WeakOperatorToken)
  })
})
