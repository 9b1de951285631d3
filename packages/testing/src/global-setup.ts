import { ensurePgliteTemplate } from './pglite-template'

/** Runs once per test run, before any test file. */
export default async function setup(): Promise<void> {
  await ensurePgliteTemplate()
}
