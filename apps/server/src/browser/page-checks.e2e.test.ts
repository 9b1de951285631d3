import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { browserAvailable, launchBrowser } from '@tidings/testing/browser'
import { contrastProblems, horizontalOverflow, layoutShiftScore, recordLayoutShifts } from './page-checks'

/** The page checks must be able to fail: each finds the fault it looks for in a page made to have it. */
describe.skipIf(!browserAvailable())('page checks', () => {
  let browser: Browser
  let page: Page
  beforeAll(async () => {
    browser = await launchBrowser()
    page = await browser.newPage({ viewport: { width: 400, height: 600 } })
    await page.addInitScript(recordLayoutShifts)
  })
  afterAll(() => browser?.close())

  it('finds low contrast, and not in good text or disabled controls', async () => {
    await page.setContent(`<body style="background:#fff"><p style="color:#999">faint</p><p>fine</p><h1 style="color:#888;font-size:32px">big</h1><button disabled style="color:#ccc">off</button></body>`)
    // #888 on white is 3.54:1: too faint for body text, enough for 32px text.
    expect(await contrastProblems(page)).toEqual([{ text: 'faint', ratio: 2.85, needed: 4.5 }])
  })

  it('finds sideways overflow', async () => {
    await page.setContent(`<div style="width:700px">wide</div>`)
    expect(await horizontalOverflow(page)).toBeGreaterThan(250)
  })

  it('finds a layout shift', async () => {
    await page.goto('data:text/html,<p id=a>first</p><p>second</p>')
    await page.waitForTimeout(100)
    await page.evaluate(`document.getElementById('a').style.height = '300px'`)
    await expect.poll(() => layoutShiftScore(page)).toBeGreaterThan(0)
  })
})
