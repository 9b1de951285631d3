import { SELF_CHANGING_TABLES } from './db-fingerprint'
import type { FuzzRequest, SentRequest } from './fuzz-request'
import type { FuzzReport, Violation } from './fuzz-runner'

// How the fuzz describes what it sent: labels for the mix, and requests printed to be sent again.

const UTF8 = new TextDecoder('utf-8', { fatal: true })

/** Labels for the mix: the credential and where it went, and what kind of body. */
export function traitsOf(request: FuzzRequest): string[] {
  const traits: string[] = []
  const auth = request.auth
  if (!auth) traits.push('credential: none')
  else {
    const c = auth.credential
    traits.push(`credential: ${c.kind === 'forged' ? `forged ${c.name}` : c.kind === 'token' ? 'member token' : c.kind}`)
    if (auth.placement.in !== 'authorization' || auth.placement.template !== 'Bearer {}') traits.push(`credential placed: ${auth.placement.in === 'authorization' ? JSON.stringify(auth.placement.template) : `${auth.placement.in} ${auth.placement.name}`}`)
  }
  const body = request.body
  if (body?.kind === 'filler') traits.push(`body: over 1 MiB${body.chunked ? ', chunked' : ''}`)
  else if (body?.kind === 'bytes') {
    const text = (() => {
      try {
        return UTF8.decode(body.bytes)
      } catch {
        return undefined
      }
    })()
    if (text === undefined) traits.push('body: invalid UTF-8')
    else if (/\[{64}|(\{"a":){64}/.test(text)) traits.push('body: nested 64+ deep')
    else if (/[\u202A-\u202E\u2066-\u2069]/.test(text)) traits.push('body: bidi controls')
    else if (text.includes('\u0000') || text.includes('\\u0000')) traits.push('body: NUL')
    if ((body.chunks ?? 1) > 1) traits.push('body: chunked')
  }
  for (const header of ['tidings-position', 'x-forwarded-for', 'cookie', 'host', 'expect']) if (header in request.headers) traits.push(`header: ${header}`)
  return traits
}

/** The request as it went out, printable and precise enough to send again with curl. */
export function describeRequest(req: SentRequest): string {
  const headers = Object.entries(req.headers).map(([k, v]) => `  ${k}: ${JSON.stringify(v.length > 300 ? `${v.slice(0, 300)}…(${v.length} chars)` : v)}`)
  let body = ''
  if (req.body instanceof Buffer) {
    const text = req.body.toString('utf8')
    const exact = Buffer.from(text, 'utf8').equals(req.body)
    body = exact
      ? `  body (${req.body.length} bytes): ${JSON.stringify(text.length > 600 ? `${text.slice(0, 600)}…` : text)}`
      : `  body (${req.body.length} bytes, not UTF-8), hex: ${req.body.subarray(0, 300).toString('hex')}${req.body.length > 300 ? '…' : ''}`
  } else if (req.body && 'prefix' in req.body) {
    body = `  body: ${JSON.stringify(req.body.prefix)} padded with "x" to ${req.body.size} bytes`
  }
  return [`${req.method} ${req.path.length > 400 ? `${req.path.slice(0, 400)}…(${req.path.length} chars)` : req.path}`, ...headers, body].filter(Boolean).join('\n')
}

/** What the run sent and got, where the time went, and what it found. */
export function summary(report: FuzzReport, run: { seed: number; setupMs: number; runMs: number; checkpoints: number }): string {
  const sorted = <K>(m: Map<K, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${String(k)} ${n}`).join(', ')
  return [
    `[fuzz] seed ${run.seed}: ${report.sent} requests in ${(run.runMs / 1000).toFixed(1)} s (setup ${(run.setupMs / 1000).toFixed(1)} s), ${report.fingerprints} fingerprints (${(report.timings.fingerprint / 1000).toFixed(1)} s), waiting for consumers ${(report.timings.settle / 1000).toFixed(1)} s`,
    `[fuzz] accepted ${report.accepted}, refused ${report.refused} (of which 503 NOT_CAUGHT_UP for unreachable tokens: ${report.designedUnavailable})`,
    `[fuzz] fingerprinted: every table of the apps' schemas but ${SELF_CHANGING_TABLES.join(', ')}; settled = ${run.checkpoints} checkpoints at their feeds' heads`,
    `[fuzz] statuses: ${sorted(report.byStatus)}`,
    `[fuzz] methods: ${sorted(report.byMethod)}`,
    `[fuzz] traits: ${sorted(report.byTrait)}`,
    `[fuzz] waiting for consumers after (s in all): ${[...report.timings.settleAfter.entries()].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([r, ms]) => `${r || '(start)'} ${(ms / 1000).toFixed(1)}`).join(', ')}`,
    `[fuzz] slowest routes (s in all): ${[...report.timings.byRoute.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([r, ms]) => `${r} ${(ms / 1000).toFixed(1)}`).join(', ')}`,
    ...[...report.byRoute.entries()].sort((a, b) => b[1] - a[1]).map(([route, n]) => `[fuzz]   ${route}: ${n} (${[...report.byRouteStatus.get(route)!.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([s, k]) => `${s}×${k}`).join(', ')})`),
    `[fuzz] event streams cut after their first event: ${report.streamsCut.length}${report.streamsCut.map((c) => `\n[fuzz]   ${c}`).join('')}`,
    `[fuzz] violations: ${report.violations.length}`,
  ].join('\n')
}

/** Grouped by kind, route and status, with the first few requests of each group in full. */
export function describeViolations(violations: readonly Violation[]): string {
  const groups = new Map<string, Violation[]>()
  for (const v of violations) {
    const key = `${v.kind} | ${v.route} | ${v.status ?? ''}`
    groups.set(key, [...(groups.get(key) ?? []), v])
  }
  return [...groups.entries()]
    .map(([key, vs]) => [`=== ${key} (${vs.length})`, ...vs.slice(0, 3).map((v) => `--- ${v.detail}\n${v.request}\n>>> ${v.answer ?? ''}`)].join('\n'))
    .join('\n\n')
}
