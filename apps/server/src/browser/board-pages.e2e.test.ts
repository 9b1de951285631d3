import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { testEngines } from '@tidings/testing'
import { browserAvailable, keepScreenshot, launchBrowser } from '@tidings/testing/browser'
import { serveServer, type ServedServer } from '../test-kit/serve-server'
import { contrastProblems, layoutShiftScore, recordLayoutShifts, horizontalOverflow } from './page-checks'

const WAIT = { timeout: 15_000 }

describe.skipIf(!browserAvailable())('the board in Chromium', () => {
  let served: ServedServer
  let browser: Browser
  const contexts: BrowserContext[] = []
  let ann: Page
  let bob: Page
  let postUrl: string

  async function newPage(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1024, height: 800 } })
    contexts.push(context)
    await context.addInitScript(recordLayoutShifts)
    return context.newPage()
  }

  async function signUp(page: Page, nickname: string): Promise<void> {
    await page.goto(`${served.baseUrl}/`)
    await page.getByRole('link', { name: 'Sign up' }).click()
    await page.getByLabel('Email').fill(`${nickname}@example.com`)
    await page.getByLabel('Nickname').fill(nickname)
    await page.getByLabel('Password').fill('correct horse battery')
    await page.getByRole('button', { name: 'Sign up' }).click()
    await page.waitForURL(`${served.baseUrl}/`)
    await page.getByText(nickname, { exact: true }).waitFor(WAIT)
  }

  beforeAll(async () => {
    served = await serveServer((await (await testEngines())[0]!.freshDatabase()).db)
    browser = await launchBrowser()
    ann = await newPage()
    bob = await newPage()
  })
  afterAll(async () => {
    for (const context of contexts) await context.close()
    await browser?.close()
    await served?.stop()
  })

  it('signs up, logs out and logs in again with the keyboard alone', async () => {
    await signUp(ann, 'ann')
    await keepScreenshot(ann, 'board-signed-up')
    await ann.getByRole('button', { name: 'Log out' }).click()
    await ann.getByRole('link', { name: 'Log in' }).waitFor(WAIT)
    await ann.getByRole('link', { name: 'Log in' }).click()
    await ann.getByLabel('Email').focus()
    await ann.keyboard.type('ann@example.com')
    await ann.keyboard.press('Tab')
    await ann.keyboard.type('correct horse battery')
    await ann.keyboard.press('Enter')
    await ann.waitForURL(`${served.baseUrl}/`)
    await ann.getByText('ann', { exact: true }).waitFor(WAIT)
  })

  it('refuses a wrong password with a message beside the form, not an error page', async () => {
    await bob.goto(`${served.baseUrl}/login`)
    await bob.getByLabel('Email').fill('ann@example.com')
    await bob.getByLabel('Password').fill('wrong password')
    await bob.getByRole('button', { name: 'Log in' }).click()
    await bob.getByRole('alert').waitFor(WAIT)
    expect(await bob.getByLabel('Email').inputValue()).toBe('ann@example.com')
    expect(await bob.getByLabel('Password').inputValue()).toBe('')
  })

  it('writes a post that is on its page and first in the list at once', async () => {
    await ann.getByRole('link', { name: 'New post' }).click()
    await ann.getByLabel('Title').fill('Hello <board>')
    await ann.getByLabel('Content').fill('First post.\nTwo lines.')
    await ann.getByRole('button', { name: 'Publish' }).click()
    await ann.getByRole('heading', { name: 'Hello <board>' }).waitFor(WAIT)
    postUrl = ann.url()
    expect(postUrl).toMatch(/\/posts\/[0-9a-f-]{36}$/)
    await ann.goto(`${served.baseUrl}/`)
    expect(await ann.locator('main a[href^="/posts/0"], main a[href^="/posts/"]').first().textContent()).toBe('Hello <board>')
    await keepScreenshot(ann, 'board-list')
  })

  it("shows another member's comment, and the writer's badge and message update live, without a layout shift", async () => {
    await ann.goto(postUrl)
    const badge = ann.locator('[data-unread-count]')
    expect(await badge.textContent()).toBe('0')
    await signUp(bob, 'bob')
    await bob.goto(postUrl)
    await bob.getByLabel('Your comment').fill('Nice one, ann!')
    await bob.getByRole('button', { name: 'Add comment' }).click()
    await bob.locator('li[id^="comment-"] .content', { hasText: 'Nice one, ann!' }).waitFor(WAIT)
    await keepScreenshot(bob, 'board-post-with-comment')

    // Ann did not reload: the badge and the message arrive over the event stream.
    await expect.poll(() => badge.textContent(), WAIT).toBe('1')
    expect(await ann.locator('[data-notification-toast]').textContent()).toBe('bob commented on Hello <board>')
    expect(await layoutShiftScore(ann)).toBe(0)
    await keepScreenshot(ann, 'board-live-notification')

    await ann.getByRole('link', { name: /Notifications/ }).click()
    await ann.getByText('bob commented on Hello <board>').waitFor(WAIT)
    await ann.getByRole('button', { name: 'Mark as read' }).click()
    await expect.poll(() => ann.locator('[data-unread-count]').textContent(), WAIT).toBe('0')
  })

  it('lets only the writer edit and delete the post', async () => {
    await bob.goto(postUrl)
    expect(await bob.getByRole('link', { name: 'Edit post' }).count()).toBe(0)
    await ann.goto(postUrl)
    await ann.getByRole('link', { name: 'Edit post' }).click()
    await ann.getByLabel('Title').fill('Hello, edited')
    await ann.getByRole('button', { name: 'Save changes' }).click()
    await ann.getByRole('heading', { name: 'Hello, edited' }).waitFor(WAIT)
    expect(await ann.locator('li[id^="comment-"] .content').allTextContents()).toEqual(['Nice one, ann!'])
    await keepScreenshot(ann, 'board-edited')

    await ann.getByRole('button', { name: 'Delete post' }).click()
    await ann.waitForURL(`${served.baseUrl}/`)
    expect(await ann.getByRole('link', { name: 'Hello, edited' }).count()).toBe(0)
    const gone = await ann.goto(postUrl)
    expect(gone?.status()).toBe(404)
  })

  it('reads well in light and dark, and fits a phone screen', async () => {
    await bob.goto(`${served.baseUrl}/`)
    await bob.getByRole('link', { name: 'New post' }).click()
    await bob.getByLabel('Title').fill('A title long enough to need wrapping on a narrow phone screen, surely')
    await bob.getByLabel('Content').fill('x'.repeat(300))
    await bob.getByRole('button', { name: 'Publish' }).click()
    await bob.getByRole('heading', { name: /A title long enough/ }).waitFor(WAIT)
    for (const colorScheme of ['light', 'dark'] as const) {
      await bob.emulateMedia({ colorScheme })
      for (const path of ['/', '/login', new URL(bob.url()).pathname]) {
        await bob.goto(`${served.baseUrl}${path}`)
        expect(await contrastProblems(bob), `${colorScheme} ${path}`).toEqual([])
      }
    }
    await bob.emulateMedia({ colorScheme: 'light' })
    await bob.setViewportSize({ width: 360, height: 740 })
    for (const path of ['/', new URL(bob.url()).pathname, '/posts/new']) {
      await bob.goto(`${served.baseUrl}${path}`)
      expect(await horizontalOverflow(bob), path).toBe(0)
    }
    await keepScreenshot(bob, 'board-phone')
  })
})
