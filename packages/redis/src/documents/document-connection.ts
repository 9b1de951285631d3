import { commandConnection } from '../redis-connection'
import { CLEAR_STEP, FIND_STEP, LACKING, MERGE, REMOVE } from './document-scripts'

type Arg = string | number

/** A command connection (reconnecting, failing commands after a few attempts) with the document store's scripts. */
export interface DocumentLink extends ReturnType<typeof commandConnection> {
  tidingsDocumentsMerge(numberOfKeys: number, ...keysAndArgs: Arg[]): Promise<number>
  tidingsDocumentsRemove(doc: string, ids: string, removed: string, fields: string, ...args: Arg[]): Promise<number>
  tidingsDocumentsFindStep(walk: string, ...args: Arg[]): Promise<unknown>
  tidingsDocumentsLacking(numberOfKeys: number, ...keysAndField: Arg[]): Promise<number[]>
  tidingsDocumentsClearStep(ids: string, removed: string, fields: string, ...args: Arg[]): Promise<number>
}

/**
 * ioredis sends each script by its SHA (EVALSHA) and falls back to the source when Redis does not know it
 * (a new server, or one restarted without the script cache).
 */
export function documentConnection(url: string): DocumentLink {
  const redis = commandConnection(url, 'tidings:documents')
  redis.defineCommand('tidingsDocumentsMerge', { lua: MERGE })
  redis.defineCommand('tidingsDocumentsRemove', { lua: REMOVE, numberOfKeys: 4 })
  redis.defineCommand('tidingsDocumentsFindStep', { lua: FIND_STEP, numberOfKeys: 1, readOnly: true })
  redis.defineCommand('tidingsDocumentsLacking', { lua: LACKING, readOnly: true })
  redis.defineCommand('tidingsDocumentsClearStep', { lua: CLEAR_STEP, numberOfKeys: 3 })
  return redis as DocumentLink
}
