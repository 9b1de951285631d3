#!/usr/bin/env node
// The one test command: type check, lint, then every suite (unit, integration on PGlite and PostgreSQL,
// end-to-end with real processes). Ends with a plain "N passed, N failed, N skipped" line.
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync } from 'node:fs'

const run = (label, command, args) => {
  console.log(`\n▶ ${label}`)
  const result = spawnSync(command, args, { stdio: 'inherit' })
  return result.status ?? 1
}

if (run('type check', 'npx', ['tsc', '-p', '.']) !== 0) process.exit(1)
if (run('lint', 'npx', ['eslint', '.']) !== 0) process.exit(1)

mkdirSync('.tmp', { recursive: true })
const report = '.tmp/vitest-report.json'
const status = run('tests', 'npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)])

let summary = { numPassedTests: 0, numFailedTests: 0, numPendingTests: 0, numTodoTests: 0 }
try {
  summary = JSON.parse(readFileSync(report, 'utf8'))
} catch {
  // No report: the runner itself failed; the exit status says so.
}
const skipped = summary.numPendingTests + summary.numTodoTests
console.log(`\n${summary.numPassedTests} passed, ${summary.numFailedTests} failed, ${skipped} skipped`)
process.exit(status === 0 && summary.numFailedTests === 0 ? 0 : 1)
