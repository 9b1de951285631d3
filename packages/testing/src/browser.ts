import { existsSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'

/** Debian's Chromium (`apt-get install chromium`; `.ci/run` installs it), or another one given by path. */
export const CHROMIUM_PATH = process.env.TIDINGS_CHROMIUM ?? '/usr/bin/chromium'

/** Where screenshots of browser tests are kept (ignored by git; CI keeps the folder as its artifacts). */
export const ARTIFACTS_DIR = resolve(process.env.TIDINGS_ARTIFACTS ?? 'test-artifacts')

let reported = false

/**
 * Whether browser suites can run. Without Chromium they are skipped and say so, except in CI
 * (CI=true), where a missing browser fails the run.
 */
export function browserAvailable(): boolean {
  if (existsSync(CHROMIUM_PATH)) return true
  if (process.env.CI === 'true') throw new Error(`Chromium is required in CI but ${CHROMIUM_PATH} does not exist (apt-get install chromium)`)
  if (!reported) {
    reported = true
    console.warn(`[tidings] SKIPPED browser suites: no Chromium at ${CHROMIUM_PATH} (apt-get install chromium, or set TIDINGS_CHROMIUM)`)
  }
  return false
}

/**
 * Headless Chromium. The flags keep it off the network (this machine's network is closed: background
 * services would fail their lookups) and allow running as root in a container.
 */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
}

/** Saves a full-page screenshot as `<ARTIFACTS_DIR>/screenshots/<name>.png` and returns its path. */
export async function keepScreenshot(page: Page, name: string): Promise<string> {
  const dir = join(ARTIFACTS_DIR, 'screenshots')
  mkdirSync(dir, { recursive: true })
  const path = join(dir, `${name.replace(/[^a-z0-9-]+/gi, '-')}.png`)
  await page.screenshot({ path, fullPage: true })
  return path
}
