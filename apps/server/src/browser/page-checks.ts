import type { Page } from 'playwright-core'

/*
 * Checks that run inside the page. They are plain JavaScript source (the project is type-checked without
 * the DOM library, and these never run in Node).
 */

/** An init script: sums the page's layout shifts (those not caused by input) into `window.__layoutShift`. */
export const recordLayoutShifts = `
  window.__layoutShift = 0
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.__layoutShift += entry.value
  }).observe({ type: 'layout-shift', buffered: true })
`

/** The cumulative layout shift of the page since it loaded (0 when nothing ever moved). */
export function layoutShiftScore(page: Page): Promise<number> {
  return page.evaluate('window.__layoutShift') as Promise<number>
}

/** How far the page is wider than the viewport, in CSS pixels (0 when nothing scrolls sideways). */
export function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth') as Promise<number>
}

export interface ContrastProblem {
  text: string
  ratio: number
  needed: number
}

/**
 * Every visible text on the page whose contrast with its background is below WCAG AA (4.5:1, or 3:1 for
 * large text); disabled controls are exempt, as WCAG allows. Backgrounds are found by walking up to the
 * first ancestor with an opaque one.
 */
export function contrastProblems(page: Page): Promise<ContrastProblem[]> {
  return page.evaluate(`(() => {
    const parse = (c) => { const m = c.match(/[\\d.]+/g).map(Number); return { r: m[0], g: m[1], b: m[2], a: m.length > 3 ? m[3] : 1 } }
    const channel = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4 }
    const luminance = (c) => 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b)
    const over = (top, bottom) => ({ r: top.r * top.a + bottom.r * (1 - top.a), g: top.g * top.a + bottom.g * (1 - top.a), b: top.b * top.a + bottom.b * (1 - top.a), a: 1 })
    const background = (el) => {
      for (let e = el; e; e = e.parentElement) { const bg = parse(getComputedStyle(e).backgroundColor); if (bg.a >= 0.99) return bg }
      return matchMedia('(prefers-color-scheme: dark)').matches ? { r: 18, g: 18, b: 18, a: 1 } : { r: 255, g: 255, b: 255, a: 1 }
    }
    const problems = []
    for (const el of document.body.querySelectorAll('*')) {
      const text = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent.trim()).join(' ').trim()
      if (!text || el.closest('[disabled]') || el.closest('.sr-only')) continue
      const style = getComputedStyle(el)
      const box = el.getBoundingClientRect()
      if (style.visibility === 'hidden' || style.display === 'none' || box.width === 0 || box.height === 0) continue
      const bg = background(el)
      const fg = over(parse(style.color), bg)
      const [hi, lo] = [luminance(fg), luminance(bg)].sort((a, b) => b - a)
      const ratio = (hi + 0.05) / (lo + 0.05)
      const size = parseFloat(style.fontSize)
      const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700)
      const needed = large ? 3 : 4.5
      if (ratio < needed) problems.push({ text: text.slice(0, 60), ratio: Math.round(ratio * 100) / 100, needed })
    }
    return problems
  })()`) as Promise<ContrastProblem[]>
}
