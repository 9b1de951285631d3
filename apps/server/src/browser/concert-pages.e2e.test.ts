import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { testEngines } from '@tidings/testing'
import { browserAvailable, keepScreenshot, launchBrowser } from '@tidings/testing/browser'
import { OPERATOR_TOKEN, serveServer, type ServedServer } from '../test-kit/serve-server'
import { contrastProblems, horizontalOverflow } from './page-checks'

const WAIT = { timeout: 20_000 }
const PASSWORD = 'correct horse battery'
const TITLE = 'Tidings <Live> & "friends"'
const PRICE = 30_000
const DAY_MS = 24 * 3600_000

interface QueueAnswer {
  token: string
  status: string
  position: number | null
}

/**
 * The concert pages in headless Chromium against the whole server (`npm start`'s composition) on a real
 * database. Two members may be ACTIVE in the queue at once, so that two members admitted through the API
 * make the browser's member wait, and one of them leaving lets it in.
 */
describe.skipIf(!browserAvailable())('the concert pages in Chromium', () => {
  let served: ServedServer
  let browser: Browser
  const contexts: BrowserContext[] = []
  let concertId: string
  let performanceId: string
  let ann: Page
  let cy: Page
  /** Members admitted through the API: bob leaves to let ann in, dan holds a seat while ann looks at the map. */
  const members: Record<string, { jwt: string; queue?: QueueAnswer }> = {}

  async function api<T>(method: string, path: string, options: { jwt?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<{ status: number; body: T }> {
    const response = await fetch(`${served.baseUrl}${path}`, {
      method,
      headers: { ...(options.jwt ? { Authorization: `Bearer ${options.jwt}` } : {}), ...(options.body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...options.headers },
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    })
    const text = await response.text()
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T }
  }

  async function apiMember(nickname: string): Promise<string> {
    expect((await api('POST', '/api/members', { body: { email: `${nickname}@example.com`, password: PASSWORD, nickname } })).status).toBe(201)
    const login = await api<{ token: string }>('POST', '/api/auth/login', { body: { email: `${nickname}@example.com`, password: PASSWORD } })
    expect(login.status).toBe(200)
    return login.body.token
  }

  async function newPage(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1024, height: 800 } })
    contexts.push(context)
    return context.newPage()
  }

  /** A browser without some of the ways to follow the queue (`WebSocket`, `EventSource`): the page must fall back. */
  async function pageWithout(globals: string[]): Promise<Page> {
    const page = await newPage()
    await page.context().addInitScript(globals.map((name) => `delete window.${name};`).join('\n'))
    return page
  }

  /** The paths the page asked for, WebSockets as `ws:<path>`. */
  function requestsOf(page: Page): string[] {
    const paths: string[] = []
    page.on('request', (request) => paths.push(new URL(request.url()).pathname))
    page.on('websocket', (socket) => paths.push(`ws:${new URL(socket.url()).pathname}`))
    return paths
  }

  async function logIn(page: Page, nickname: string): Promise<void> {
    await page.goto(`${served.baseUrl}/login`)
    await page.getByLabel('Email').fill(`${nickname}@example.com`)
    await page.getByLabel('Password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.waitForURL(`${served.baseUrl}/`)
  }

  async function joinQueue(page: Page): Promise<string> {
    await page.goto(`${served.baseUrl}${concertPath()}`)
    await page.getByRole('button', { name: 'Join the queue' }).click()
    await page.waitForURL(`${served.baseUrl}${concertPath()}/queue`)
    return (await page.locator('[data-queue-token]').getAttribute('data-queue-token'))!
  }

  async function signUp(page: Page, nickname: string): Promise<void> {
    await page.goto(`${served.baseUrl}/signup`)
    await page.getByLabel('Email').fill(`${nickname}@example.com`)
    await page.getByLabel('Nickname').fill(nickname)
    await page.getByLabel('Password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Sign up' }).click()
    await page.waitForURL(`${served.baseUrl}/`)
    await page.getByText(nickname, { exact: true }).waitFor(WAIT)
  }

  /** The member's bearer token, as the session cookie holds it (for the API checks of what the pages did). */
  async function jwtOf(page: Page): Promise<string> {
    const session = (await page.context().cookies()).find((cookie) => cookie.name === 'tidings_session')
    expect(session).toBeDefined()
    return session!.value
  }

  /** Presses Tab until the focused element matches `selector` (a keyboard user's way there), then Enter. */
  async function tabAndEnter(page: Page, selector: string): Promise<void> {
    for (let presses = 0; presses < 100; presses++) {
      await page.keyboard.press('Tab')
      if (await page.evaluate(`document.activeElement?.matches(${JSON.stringify(selector)}) ?? false`)) {
        await page.keyboard.press('Enter')
        return
      }
    }
    throw new Error(`Tab never reached ${selector}`)
  }

  const queueText = (page: Page, state: string) => page.locator(`[role="status"] p[data-when="${state}"]`)
  const concertPath = () => `/concerts/${concertId}`

  beforeAll(async () => {
    served = await serveServer((await (await testEngines())[0]!.freshDatabase()).db, { concert: { waitingRoom: { activeCapacity: 2 } } })
    browser = await launchBrowser()
    const startsAt = (days: number) => new Date(Date.now() + days * DAY_MS).toISOString()
    const scheduled = await api<{ concertId: string; performances: Array<{ performanceId: string }> }>('POST', '/api/concerts', {
      jwt: OPERATOR_TOKEN,
      body: { title: TITLE, performances: [{ startsAt: startsAt(30), seatCount: 12, price: PRICE }, { startsAt: startsAt(31), seatCount: 12, price: PRICE }] },
    })
    expect(scheduled.status).toBe(201)
    concertId = scheduled.body.concertId
    performanceId = scheduled.body.performances[0]!.performanceId
    ann = await newPage()
    cy = await newPage()
  })
  afterAll(async () => {
    for (const context of contexts) await context.close()
    await browser?.close()
    await served?.stop()
  })

  it('shows a guest the concerts, escaped, and sends them to log in to join', async () => {
    await ann.goto(`${served.baseUrl}/concerts`)
    await ann.getByRole('heading', { name: 'Concerts', level: 1 }).waitFor(WAIT)
    expect(await ann.getByRole('link', { name: TITLE }).textContent()).toBe(TITLE)
    expect(await ann.locator('main').textContent()).toContain('12 of 12 seats available')
    expect(await ann.getByRole('link', { name: 'Log in' }).last().getAttribute('href')).toBe('/login?next=%2Fconcerts')
    await ann.getByRole('link', { name: TITLE }).click()
    await ann.getByRole('heading', { name: TITLE }).waitFor(WAIT)
    expect(await ann.getByRole('button', { name: 'Join the queue' }).count()).toBe(0)
    await ann.locator('main').getByRole('link', { name: 'Log in' }).click()
    await ann.waitForURL(`${served.baseUrl}/login?next=${encodeURIComponent(concertPath())}`)
    await keepScreenshot(ann, 'concert-guest-login')
  })

  it('waits behind two ACTIVE members, turns ACTIVE live when one leaves, holds a seat, charges, pays once and shows it CONFIRMED', async () => {
    for (const nickname of ['bob', 'dan']) {
      const jwt = await apiMember(nickname)
      const joined = await api<QueueAnswer>('POST', `/api/concerts/${concertId}/queue`, { jwt })
      expect(joined.body.status).toBe('ACTIVE')
      members[nickname] = { jwt, queue: joined.body }
    }

    const annAsked = requestsOf(ann)
    await signUp(ann, 'ann')
    await ann.goto(`${served.baseUrl}/concerts`)
    await ann.getByRole('link', { name: TITLE }).click()
    const [queuePage] = await Promise.all([ann.waitForResponse((r) => r.url().endsWith(`${concertPath()}/queue`) && r.request().method() === 'GET'), ann.getByRole('button', { name: 'Join the queue' }).click()])
    await ann.waitForURL(`${served.baseUrl}${concertPath()}/queue`)
    expect(queuePage.headers()['cache-control']).toBe('no-store')
    // The queue token is a capability: in an HttpOnly cookie of this concert's pages, never in a URL.
    const queueCookie = (await ann.context().cookies()).find((cookie) => cookie.name === 'tidings_queue')
    expect(queueCookie).toMatchObject({ path: concertPath(), httpOnly: true, sameSite: 'Lax' })
    await queueText(ann, 'WAITING').waitFor({ state: 'visible', ...WAIT })
    expect(await ann.locator('[data-field="position"]').textContent()).toBe('1')
    expect(await ann.locator('main [role="status"][aria-live="polite"]').count()).toBe(1)
    expect(await ann.getByRole('link', { name: /^Seats for/ }).first().isVisible()).toBe(false)
    await keepScreenshot(ann, 'concert-queue-waiting')

    // Whatever the page does from here happens in this document: a reload would lose the mark.
    await ann.evaluate('window.__sameDocument = true')
    const bob = members.bob!
    expect((await api<QueueAnswer>('DELETE', `/api/queue/${bob.queue!.token}`, { jwt: bob.jwt })).status).toBe(200)
    await queueText(ann, 'ACTIVE').waitFor({ state: 'visible', ...WAIT })
    expect(await queueText(ann, 'WAITING').isVisible()).toBe(false)
    expect(await ann.evaluate('window.__sameDocument')).toBe(true)
    // The first way the page tries, and the one that told it: the WebSocket.
    const annToken = await ann.locator('[data-queue-token]').getAttribute('data-queue-token')
    expect(annAsked).toContain(`ws:/api/queue/${annToken}/ws`)
    expect(annAsked.filter((path) => path === `/api/queue/${annToken}` || path.endsWith('/events'))).toEqual([])
    await keepScreenshot(ann, 'concert-queue-active')

    await ann.getByRole('link', { name: /^Seats for/ }).first().click()
    await ann.waitForURL(`${served.baseUrl}${concertPath()}/performances/${performanceId}`)
    expect(await ann.locator('button[data-seat]').count()).toBe(12)
    expect(await ann.locator('button[data-seat]:disabled').count()).toBe(0)
    await ann.evaluate('window.__sameDocument = true')

    // Another ACTIVE member takes seat 3: the map shows it taken without a reload.
    const dan = members.dan!
    const held = await api('POST', '/api/reservations', { jwt: dan.jwt, headers: { 'Queue-Token': dan.queue!.token }, body: { performanceId, seatNo: 3 } })
    expect(held.status).toBe(201)
    await ann.getByRole('button', { name: 'Seat 3 (taken)', exact: true }).waitFor(WAIT)
    expect(await ann.getByRole('button', { name: 'Seat 3 (taken)', exact: true }).isDisabled()).toBe(true)
    expect(await ann.locator('[data-seats-free]').textContent()).toBe('11 of 12 seats free')
    expect(await ann.evaluate('window.__sameDocument')).toBe(true)

    await ann.getByRole('button', { name: 'Seat 7', exact: true }).click()
    await ann.getByRole('heading', { name: 'Seat 7 is held for you' }).waitFor(WAIT)
    await keepScreenshot(ann, 'concert-seat-held')

    expect(await ann.getByLabel('Amount to add').inputValue()).toBe(String(PRICE))
    await ann.getByRole('button', { name: 'Charge wallet' }).click()
    await expect.poll(() => ann.locator('[data-balance]').textContent(), WAIT).toBe('30,000')

    // The form is sent twice with its key (a double press, a resend after a lost answer): one payment.
    const payForm = ann.locator('form[action$="/payment"]')
    const key = await payForm.locator('input[name="idempotencyKey"]').inputValue()
    expect(key).toMatch(/^[0-9a-f-]{36}$/)
    const first = await ann.request.post(`${served.baseUrl}${await payForm.getAttribute('action')}`, { form: { idempotencyKey: key }, headers: { Origin: served.baseUrl }, maxRedirects: 0 })
    expect(first.status()).toBe(303)
    const [again] = await Promise.all([ann.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/payment')), ann.getByRole('button', { name: 'Pay 30,000' }).click()])
    expect(again.status()).toBe(303)
    expect(again.headers().location).toBe(first.headers().location)

    await ann.getByRole('heading', { name: 'Your seat is booked' }).waitFor(WAIT)
    expect(await ann.locator('[data-status]').textContent()).toBe('CONFIRMED')
    expect(await ann.locator('[data-seat-no]').textContent()).toBe('7')
    expect(await ann.locator('[data-price]').textContent()).toBe('30,000')
    expect((await api<{ balance: number }>('GET', '/api/wallet', { jwt: await jwtOf(ann) })).body.balance).toBe(0)
    await keepScreenshot(ann, 'concert-confirmed')
  })

  it('lets a keyboard user join and hold a seat with Tab and Enter, and says in words that the wallet is short', async () => {
    await signUp(cy, 'cy')
    await cy.goto(`${served.baseUrl}${concertPath()}`)
    await tabAndEnter(cy, 'form[action$="/queue"] button')
    await cy.waitForURL(`${served.baseUrl}${concertPath()}/queue`)
    // Ann's paid turn is complete, so a place is free (at once, or on the room's next round).
    await queueText(cy, 'ACTIVE').waitFor({ state: 'visible', ...WAIT })
    await tabAndEnter(cy, `a[href$="/performances/${performanceId}"]`)
    await cy.waitForURL(`${served.baseUrl}${concertPath()}/performances/${performanceId}`)
    expect(await cy.getByRole('button', { name: 'Seat 7 (taken)', exact: true }).isDisabled()).toBe(true)
    await tabAndEnter(cy, 'button[data-seat]:not([disabled])')
    await cy.getByRole('heading', { name: 'Seat 1 is held for you' }).waitFor(WAIT)

    const [refused] = await Promise.all([cy.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/payment')), tabAndEnter(cy, 'form[action$="/payment"] button')])
    expect(refused.status()).toBe(409)
    const alert = cy.getByRole('alert').filter({ hasText: 'wallet' })
    await alert.waitFor(WAIT)
    expect((await alert.textContent())?.trim()).toBe('Your wallet does not hold enough to pay for this seat, so nothing was taken. Charge your wallet, then pay again.')
    await cy.getByRole('heading', { name: 'Seat 1 is held for you' }).waitFor(WAIT)
    expect(await cy.locator('main').textContent()).not.toMatch(/Error|at .*\.ts/)
    await keepScreenshot(cy, 'concert-insufficient-balance')
  })

  it('serves its script like the board’s', async () => {
    const script = await fetch(`${served.baseUrl}/assets/concert.js`)
    expect(script.status).toBe(200)
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(script.headers.get('x-content-type-options')).toBe('nosniff')
  })

  it('answers bad input with a 4xx page in words, never a 500', async () => {
    const form = (seatNo: string, origin = served.baseUrl) =>
      cy.request.post(`${served.baseUrl}${concertPath()}/performances/${performanceId}/holds`, { form: { seatNo }, headers: { Origin: origin }, maxRedirects: 0 })
    const notANumber = await form('abc')
    expect(notANumber.status()).toBe(400)
    expect(await notANumber.text()).toContain('Please pick a seat from the map.')
    const noSuchSeat = await form('999')
    expect(noSuchSeat.status()).toBe(404)
    expect(await noSuchSeat.text()).toContain('Seat 999 does not exist')
    expect((await form('2', 'http://evil.example')).status()).toBe(403)

    for (const path of ['/concerts/not-a-concert', `/concerts/${crypto.randomUUID()}`, `${concertPath()}/performances/${crypto.randomUUID()}`, `${concertPath()}/reservations/nope`]) {
      const answer = await cy.goto(`${served.baseUrl}${path}`)
      expect(answer?.status(), path).toBe(404)
      expect(await cy.getByRole('alert').first().textContent(), path).toMatch(/^There is no such (concert|performance|reservation)/)
    }
  })

  it('reads well in light and dark, and fits a phone screen', async () => {
    const paths = ['/concerts', concertPath(), `${concertPath()}/queue`, `${concertPath()}/performances/${performanceId}`]
    for (const colorScheme of ['light', 'dark'] as const) {
      await cy.emulateMedia({ colorScheme })
      for (const path of paths) {
        await cy.goto(`${served.baseUrl}${path}`)
        expect(await contrastProblems(cy), `${colorScheme} ${path}`).toEqual([])
      }
    }
    await cy.emulateMedia({ colorScheme: 'light' })
    await cy.setViewportSize({ width: 360, height: 740 })
    for (const path of paths) {
      await cy.goto(`${served.baseUrl}${path}`)
      expect(await horizontalOverflow(cy), path).toBe(0)
    }
    await keepScreenshot(cy, 'concert-seats-phone')
  })

  it('follows the queue over the event stream without WebSocket, and by polling without either', async () => {
    // dan and cy are ACTIVE; bob, then ann wait, each in a browser that lacks more than the one before.
    const bob = await pageWithout(['WebSocket'])
    const bobAsked = requestsOf(bob)
    const annAgain = await pageWithout(['WebSocket', 'EventSource'])
    const annAsked = requestsOf(annAgain)
    await logIn(bob, 'bob')
    const bobToken = await joinQueue(bob)
    await queueText(bob, 'WAITING').waitFor({ state: 'visible', ...WAIT })
    expect(await bob.locator('[data-field="position"]').textContent()).toBe('1')
    await logIn(annAgain, 'ann')
    const annToken = await joinQueue(annAgain)
    expect(await annAgain.locator('[data-field="position"]').textContent()).toBe('2')

    const dan = members.dan!
    expect((await api('DELETE', `/api/queue/${dan.queue!.token}`, { jwt: dan.jwt })).status).toBe(200)
    await queueText(bob, 'ACTIVE').waitFor({ state: 'visible', ...WAIT })
    await expect.poll(() => annAgain.locator('[data-field="position"]').textContent(), WAIT).toBe('1')

    // Cy leaves with the queue page's own button: her place goes to ann.
    await cy.goto(`${served.baseUrl}${concertPath()}/queue`)
    await cy.getByRole('button', { name: 'Leave the queue' }).click()
    await cy.getByRole('button', { name: 'Join the queue' }).waitFor(WAIT)
    await queueText(annAgain, 'ACTIVE').waitFor({ state: 'visible', ...WAIT })

    expect(bobAsked).toContain(`/api/queue/${bobToken}/events`)
    expect(bobAsked.filter((path) => path.startsWith('ws:') || path === `/api/queue/${bobToken}`)).toEqual([])
    expect(annAsked.filter((path) => path === `/api/queue/${annToken}`).length).toBeGreaterThan(1)
    expect(annAsked.filter((path) => path.startsWith('ws:') || path.endsWith('/events'))).toEqual([])
  })
})
