import type { Documents, MergeChange } from '@tidings/core'
import { eventually, rejectionOf, seededRandom, serverInstalled, serviceReachable, startRedisServer } from '@tidings/testing'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redisDocuments, type RedisDocuments } from './redis-documents'

const SHARED = 'redis://127.0.0.1:6379'
const PREFIX = `tidings-test-docs-${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`

interface View {
  status?: string
  note?: string
  count?: number
}

/** A consumer's history: 400 changes to 30 documents from three sources, versions out of order and repeated. */
function history(seed: number): Array<MergeChange<View> & { id: string }> {
  const random = seededRandom(seed)
  return Array.from({ length: 400 }, (_, i) => {
    const source = ['order', 'payment', 'note'][Math.floor(random() * 3)]!
    const version = 1 + Math.floor(random() * 12)
    const set: Partial<View> = source === 'note' ? { note: `n${version}` } : { status: `${source}-${version}`, count: i }
    return { id: `d${Math.floor(random() * 30)}`, source, version, set }
  })
}

async function everything(view: Documents<View>) {
  return (await view.find({}, { limit: 10_000 })).map(({ id, body, versions }) => ({ id, body, versions }))
}

describe.runIf(await serviceReachable('Redis', 6379))('RedisDocumentStore (shared server)', () => {
  let documents: RedisDocuments
  let redis: Redis
  let collections = 0
  const fresh = (label: string): string => `${label}-${++collections}`

  beforeAll(async () => {
    documents = await redisDocuments({ url: SHARED, prefix: PREFIX })
    redis = new Redis(SHARED)
  })

  afterAll(async () => {
    await documents?.close()
    const keys = await redis.keys(`${PREFIX}:*`)
    if (keys.length > 0) await redis.del(...keys)
    redis?.disconnect()
  })

  it('keeps a hash per document and sorted sets by id and by field; clear leaves no key of the collection behind', async () => {
    const name = fresh('layout')
    const base = `${PREFIX}:{${name}}`
    const view = documents.collection<View>(name)
    const other = documents.collection<View>(fresh('other'))
    await view.merge('o1', { source: 'order', version: 2, set: { status: 'PLACED', count: 1 } })
    await view.merge('o3', { source: 'note', version: 1, set: { note: 'hi' } })
    await view.remove('o2', { source: 'order', version: 1 })
    await other.merge('o1', { source: 'order', version: 1, set: { status: 'x' } })

    expect(await redis.type(`${base}:doc:o1`)).toBe('hash')
    expect(await redis.hgetall(`${base}:doc:o1`)).toEqual({ 'f:status': '"PLACED"', 'f:count': '1', 'v:order': '2', at: expect.stringMatching(/^\d{13}$/) })
    expect(await redis.hgetall(`${base}:doc:o2`)).toEqual({ 'v:order': '1', removed: '1', at: expect.stringMatching(/^\d{13}$/) })
    expect(await redis.zrange(`${base}:ids`, '0', '-1')).toEqual(['o1', 'o3'])
    expect(await redis.zrange(`${base}:having:status`, '0', '-1')).toEqual(['o1'])
    expect((await redis.smembers(`${base}:fields`)).sort()).toEqual(['count', 'note', 'status'])
    expect(await redis.smembers(`${base}:removed`)).toEqual(['o2'])

    // A removal takes the document out of every index; a field no live document has is forgotten.
    await view.remove('o3', { source: 'note', version: 2 })
    expect(await redis.exists(`${base}:having:note`)).toBe(0)
    expect((await redis.smembers(`${base}:fields`)).sort()).toEqual(['count', 'status'])
    expect(await redis.zrange(`${base}:ids`, '0', '-1')).toEqual(['o1'])

    await view.clear()
    expect(await redis.keys(`${base}:*`)).toEqual([])
    expect(await other.get('o1')).toMatchObject({ body: { status: 'x' } })
    expect(() => documents.collection('a{b}')).toThrow(RangeError)
  })

  it('guards every version atomically while writers on several connections race for the same documents', async () => {
    const name = fresh('race')
    const writers = await Promise.all(Array.from({ length: 4 }, () => redisDocuments({ url: SHARED, prefix: PREFIX })))
    try {
      const ids = Array.from({ length: 20 }, (_, i) => `r${i}`)
      const versions = Array.from({ length: 40 }, (_, i) => i + 1)
      await Promise.all(
        writers.map(async (writer, w) => {
          const random = seededRandom(100 + w)
          const view = writer.collection<View>(name)
          const shuffled = [...versions].sort(() => random() - 0.5)
          // Half of each writer's changes one by one, all at once; the other half in batches.
          await Promise.all(ids.flatMap((id) => shuffled.slice(0, 20).map((version) => view.merge(id, { source: 'order', version, set: { status: `v${version}`, count: version } }))))
          for (let i = 20; i < shuffled.length; i += 5) {
            await view.mergeMany(ids.flatMap((id) => shuffled.slice(i, i + 5).map((version) => ({ id, source: 'order', version, set: { status: `v${version}`, count: version } }))))
          }
        }),
      )
      const view = documents.collection<View>(name)
      for (const id of ids) expect(await view.get(id)).toMatchObject({ body: { status: 'v40', count: 40 }, versions: { order: 40 } })
    } finally {
      await Promise.all(writers.map((writer) => writer.close()))
    }
  })

  it('changes nothing when a consumer applies what it already applied, and rebuilds the same into an emptied collection', async () => {
    const view = documents.collection<View>(fresh('replay'))
    const changes = history(11)
    const applied = await view.mergeMany(changes)
    await view.remove('d3', { source: 'order', version: 20 })
    const state = await everything(view)
    expect(state.length).toBeGreaterThan(20)

    // A crash between the Redis write and the consumer's commit: the same page again, then all of it again.
    expect(await view.mergeMany(changes.slice(100, 200))).toBe(0)
    expect(await view.mergeMany(changes)).toBe(0)
    expect(await view.remove('d3', { source: 'order', version: 20 })).toBe(false)
    expect(await everything(view)).toEqual(state)

    await view.clear()
    expect(await view.count()).toBe(0)
    expect(await view.mergeMany(changes)).toBe(applied)
    await view.remove('d3', { source: 'order', version: 20 })
    expect(await everything(view)).toEqual(state)
  })

  it('fails an unstorable batch before writing any of it', async () => {
    const view = documents.collection<View>(fresh('refused'))
    const changes = [...history(3).slice(0, 150), { id: 'bad', source: 'note', version: 1, set: { note: 'a\u0000' } }]
    await expect(view.mergeMany(changes)).rejects.toMatchObject({ code: 'UNSUPPORTED_CHARACTER', kind: 'validation' })
    await expect(view.merge('bad', { source: 'note', version: 1.5, set: {} })).rejects.toBeInstanceOf(RangeError)
    expect(await view.count()).toBe(0)
  })
})

describe.runIf(serverInstalled('redis-server'))('RedisDocumentStore across a server crash', () => {
  it('has every acknowledged write after a SIGKILL and a restart, and the same store writes on', async () => {
    const server = await startRedisServer()
    const documents = await redisDocuments({ url: server.url })
    try {
      const view = documents.collection<View>('views')
      const changes = history(5)
      await view.mergeMany(changes)
      await view.remove('d7', { source: 'order', version: 50 })
      await view.merge('late', { source: 'note', version: 1, set: { note: 'last acknowledged' } })
      const before = { all: await everything(view), noted: await view.idsHaving('note'), count: await view.count() }

      await server.kill()
      expect(await rejectionOf(view.merge('down', { source: 'note', version: 1, set: { note: 'x' } }))).toMatchObject({ kind: 'unavailable', code: 'BROKER_UNAVAILABLE' })
      await server.restart()

      const count = await eventually(
        () => view.count().catch(() => -1),
        (n) => n >= 0,
        { what: 'the restarted server to answer' },
      )
      expect(count).toBe(before.count)
      expect(await everything(view)).toEqual(before.all)
      expect(await view.idsHaving('note')).toEqual(before.noted)
      expect(await view.get('d7')).toBeUndefined()
      // The restart emptied the script cache: the scripts are sent again, and still guard versions.
      expect(await view.mergeMany(changes)).toBe(0)
      expect(await view.merge('late', { source: 'note', version: 2, set: { note: 'after the restart' } })).toBe(true)
      expect((await view.get('late'))?.body).toEqual({ note: 'after the restart' })
    } finally {
      await documents.close()
      await server.cleanup()
    }
  })
})
