import type { ManagedProcess } from '@tidings/testing'
import type { Violation } from './fuzz-runner'

/**
 * What `npm start` printed while fuzzed. Errors it logged (level 50 and up: "request failed: unexpected
 * error", a page that failed) and anything on stderr but Node's own warnings (hono's streamSSE prints the
 * errors a stream swallowed there) are violations; its warnings and Node's are reported.
 */
export function watchOutput(server: ManagedProcess): { violations(): Violation[]; warnings(): string } {
  let stderr = ''
  server.child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  return {
    violations() {
      const found: Violation[] = server.lines.filter((l) => /"level":(50|60)/.test(l)).map((l) => ({ kind: 'server-error', route: '(server log)', request: '', detail: l.slice(0, 1500) }))
      const { rest } = splitWarnings(stderr)
      if (rest.trim()) found.push({ kind: 'server-error', route: '(stderr)', request: '', detail: rest.slice(0, 3000) })
      return found
    },
    warnings() {
      const logged = new Map<string, number>()
      for (const l of server.lines.filter((l) => l.includes('"level":40'))) {
        const msg = /"msg":"([^"]*)"/.exec(l)?.[1] ?? l.slice(0, 120)
        logged.set(msg, (logged.get(msg) ?? 0) + 1)
      }
      const node = [...new Set(splitWarnings(stderr).warnings)]
      return [
        `[fuzz] server warnings: ${[...logged.entries()].map(([m, n]) => `${m} ×${n}`).join('; ') || 'none'}`,
        `[fuzz] Node warnings on stderr: ${node.length === 0 ? 'none' : `\n${node.join('\n')}`}`,
      ].join('\n')
    },
  }
}

/** Node's process warnings (`(node:123) DeprecationWarning: …` and the stack lines after), and the rest. */
function splitWarnings(stderr: string): { warnings: string[]; rest: string } {
  const warnings: string[] = []
  const rest: string[] = []
  for (const line of stderr.split('\n')) {
    if (/^\(node:\d+\) \w*Warning/.test(line)) warnings.push(line.replace(/^\(node:\d+\) /, ''))
    else if (warnings.length > 0 && (/^\s+at /.test(line) || line.startsWith('(Use `node --trace'))) warnings[warnings.length - 1] += `\n${line}`
    else if (line.trim()) rest.push(line)
  }
  return { warnings, rest: rest.join('\n') }
}
