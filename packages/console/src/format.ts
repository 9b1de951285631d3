/** How numbers read in the console: short, and the same everywhere. */

export function count(n: number): string {
  return n.toLocaleString('en-US')
}

export function seconds(s: number): string {
  if (s === 0) return '0 s'
  if (s < 10) return `${s.toFixed(1)} s`
  if (s < 120) return `${Math.round(s)} s`
  if (s < 7_200) return `${Math.round(s / 60)} min`
  if (s < 172_800) return `${Math.round(s / 3_600)} h`
  return `${Math.round(s / 86_400)} d`
}

export function rate(perSecond: number): string {
  return perSecond === 0 ? '0/s' : perSecond < 10 ? `${perSecond.toFixed(1)}/s` : `${Math.round(perSecond).toLocaleString('en-US')}/s`
}

/** ISO time without milliseconds and zone letter, in UTC: `2026-11-30 05:12:09`. */
export function time(iso: string | null): string {
  return iso ? iso.slice(0, 19).replace('T', ' ') : '—'
}
