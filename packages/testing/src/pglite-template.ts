import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { PGlite } from '@electric-sql/pglite'

/**
 * A fresh PGlite runs initdb, which takes seconds; loading a dumped data directory takes about one. Test
 * runs create the dump once (vitest global setup) and every test file opens its instance from it.
 */
export const PGLITE_TEMPLATE = resolve(process.env.TIDINGS_PGLITE_TEMPLATE ?? '.tmp/pglite-template.tar')

export async function ensurePgliteTemplate(): Promise<void> {
  if (existsSync(PGLITE_TEMPLATE)) return
  mkdirSync(dirname(PGLITE_TEMPLATE), { recursive: true })
  const db = await PGlite.create()
  const dump = await db.dumpDataDir('none')
  await db.close()
  const partial = `${PGLITE_TEMPLATE}.${process.pid}.partial`
  writeFileSync(partial, Buffer.from(await dump.arrayBuffer()))
  renameSync(partial, PGLITE_TEMPLATE)
}

export function pgliteTemplate(): Blob | undefined {
  return existsSync(PGLITE_TEMPLATE) ? new Blob([readFileSync(PGLITE_TEMPLATE)]) : undefined
}
