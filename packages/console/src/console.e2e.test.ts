import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ValidationFailed } from '@tidings/core'
import { createHttpApp, hostServices, serveHttp, serviceContext, type Host } from '@tidings/http'
import { eventually, openEventStream, testEngines } from '@tidings/testing'
import { consoleRoutes } from './console.routes'
import type { ConsoleExplorer } from './explorer'
import { Operations } from './operations'
import { WeakOperatorToken } from './operator-auth'
import { fragileService, LABEL_PRINTER, PARCELS, type FragileService } from './test-kit/fragile-service'

const TOKEN = 'operator-secret-for-tests'

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
  let host: Host
  let base: string
  let stopServer: () => Promise<void>

  const post = (path: string, token?: string) => fetch(`${base}${path}`, { method: 'POST', headers: token ? { Authorization: `Bearer ${token}` } : {} })
  const problem = async (response: Response) => ({ status: response.status, code: ((await response.json()) as { code: string }).code })
  const parcel = async (body: { label: string; parcelId?: string; voided?: boolean }) => {
    const response = await fetch(`${base}/api/parcels`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
    expect(response.status).toBe(201)
  }
  const label = (text: string) => parcel({ label: text })
  const openLetters = async () => ((await (await fetch(`${base}/console/api/overview`)).json()) as { deadLetters: Array<{ id: string; schema: string }> }).deadLetters

  beforeAll(async () => {
    const { db } = await engine.freshDatabase()
    const ctx = serviceContext({ db })
    fragile = await fragileService(ctx)
    host = hostServices(ctx, [fragile.service])
    host.http.route('/', consoleRoutes({ operations: Operations.of(db, [fragile.service]), operatorToken: TOKEN, explorers: [animals] }))
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
    const response = await fetch(`${base}/console`)
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
    const fragment = await (await fetch(`${base}/console/fragments/overview`)).text()
    expect(fragment).toContain(`data-dead-letter="${letter!.id}"`)
    expect(fragment).toContain('label printer jammed on &quot;poison &lt;script&gt;alert(1)&lt;/script&gt;&quot;')
    expect(fragment).not.toContain('<script>')

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
    const all = await openEventStream(`${base}/console/api/events`)
    const voided = await openEventStream(`${base}/console/api/events?source=${PARCELS}&type=ParcelVoided`)
    const parcel7 = await openEventStream(`${base}/console/api/events?key=parcel-7`)
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
    expect(await problem(await fetch(`${base}/console/api/events?source=no.such.feed`))).toEqual({ status: 404, code: 'UNKNOWN_FEED' })
    expect(await problem(await fetch(`${base}/console/api/events?type=${'x'.repeat(201)}`))).toEqual({ status: 400, code: 'VALIDATION' })
  })

  it('searches an explorer without script, escaping what it found, and explains bad input', async () => {
    const found = await fetch(`${base}/console?explorer=animals&name=bird`)
    expect(found.status).toBe(200)
    const page = await found.text()
    expect(page).toContain('<td>bird</td><td>2</td><td>true</td><td>&lt;b&gt;bold?&lt;/b&gt;</td>')
    expect(page).toContain('value="bird"')
    const refused = await fetch(`${base}/console?explorer=animals&name=${'x'.repeat(11)}`)
    expect(refused.status).toBe(400)
    expect(await refused.text()).toContain('<p role="alert" class="error">Name: at most 10 characters</p>')
    const empty = await fetch(`${base}/console?explorer=animals&name=`)
    expect(empty.status).toBe(400)
    expect(await empty.text()).toContain('Give Name.')
  })
})

describe('console actions without an operator token', () => {
  it('are disabled (403), and the page says how to enable them', async () => {
    const { db } = await engine.freshDatabase()
    const app = createHttpApp()
    app.route('/', consoleRoutes({ operations: new Operations({ db, feeds: [], subscriptions: [], consumerSchemas: [] }) }))
    const response = await app.request('/console/api/subscriptions/x/reset', { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` } })
    expect(response.status).toBe(403)
    expect(((await response.json()) as { code: string }).code).toBe('OPERATOR_DISABLED')
    const page = await (await app.request('/console')).text()
    expect(page).toContain('Actions are disabled: start the server with TIDINGS_OPERATOR_TOKEN set')
    expect(page).toContain('<p data-empty="dead-letters">')
  })

  it('a token shorter than 16 characters is refused at start', () => {
    expect(() => consoleRoutes({ operations: new Operations({ db: undefined as never, feeds: [], subscriptions: [], consumerSchemas: [] }), operatorToken: 'short' })).toThrow(WeakOperatorToken)
  })
})
