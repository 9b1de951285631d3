import { describe, expect, it } from 'vitest'
import { etagOf } from '@tidings/http'
import { HotDocuments, type HotCopy } from './hot-documents'

/** A copy holding this JSON. */
const holding = (json: string) => (copy: HotCopy | undefined) => copy?.bytes.toString() === json

function deferred<T>() {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}

describe('hot documents', () => {
  it('loads once, then serves from memory', async () => {
    const hot = new HotDocuments()
    let loads = 0
    const load = async () => `v${++loads}`
    expect(await hot.read('a', load)).toSatisfy(holding('v1'))
    expect(await hot.read('a', load)).toSatisfy(holding('v1'))
    expect(loads).toBe(1)
    expect(hot.stats()).toEqual({ size: 1, bytes: 2, hits: 1, misses: 1 })
  })

  it('keeps each copy with the ETag of its JSON, which changes with it', async () => {
    const hot = new HotDocuments()
    const first = await hot.read('a', async () => '{"v":1}')
    expect(first).toEqual({ bytes: Buffer.from('{"v":1}'), etag: etagOf('{"v":1}') })
    hot.evict(['a'])
    const second = await hot.read('a', async () => '{"v":2}')
    expect(second!.etag).not.toBe(first!.etag)
    expect(hot.peek('a')).toBe(second)
  })

  it('shares one load between concurrent readers', async () => {
    const hot = new HotDocuments()
    const gate = deferred<string>()
    let loads = 0
    const load = () => (loads++, gate.promise)
    const readers = [hot.read('a', load), hot.read('a', load), hot.read('a', load)]
    gate.resolve('v1')
    expect((await Promise.all(readers)).map((copy) => copy?.bytes.toString())).toEqual(['v1', 'v1', 'v1'])
    expect(loads).toBe(1)
  })

  it('an eviction makes the next read load again', async () => {
    const hot = new HotDocuments()
    let version = 1
    await hot.read('a', async () => `v${version}`)
    version = 2
    hot.evict(['a'])
    expect(await hot.read('a', async () => `v${version}`)).toSatisfy(holding('v2'))
  })

  it('a fill that started before an eviction never installs what it read', async () => {
    const hot = new HotDocuments()
    const stale = deferred<string>()
    const early = hot.read('a', () => stale.promise) // reads the old state ...
    hot.evict(['a']) // ... the projection commits a change and evicts ...
    stale.resolve('old') // ... then the old read finishes
    expect(await early).toSatisfy(holding('old')) // its own reader began before the change: it may see the old state
    expect(await hot.read('a', async () => 'new')).toSatisfy(holding('new')) // but nobody after the eviction does
    expect(await hot.read('a', async () => 'never loaded')).toSatisfy(holding('new'))
  })

  it('a reader after an eviction does not join a fill that started before it', async () => {
    const hot = new HotDocuments()
    const stale = deferred<string>()
    const early = hot.read('a', () => stale.promise)
    hot.evict(['a'])
    const late = hot.read('a', async () => 'new')
    stale.resolve('old')
    expect(await early).toSatisfy(holding('old'))
    expect(await late).toSatisfy(holding('new'))
  })

  it('keeps nothing for a missing document and forgets a failed load', async () => {
    const hot = new HotDocuments()
    expect(await hot.read('gone', async () => undefined)).toBeUndefined()
    await expect(hot.read('bad', async () => Promise.reject(new Error('db down')))).rejects.toThrow('db down')
    expect(await hot.read('gone', async () => 'now here')).toSatisfy(holding('now here'))
    expect(await hot.read('bad', async () => 'recovered')).toSatisfy(holding('recovered'))
  })

  it('drops the least recently used beyond its capacity; capacity 0 caches nothing', async () => {
    const hot = new HotDocuments({ capacity: 2 })
    await hot.read('a', async () => 'a')
    await hot.read('b', async () => 'b')
    await hot.read('a', async () => 'a') // a is now the most recent
    await hot.read('c', async () => 'c') // b goes
    let loaded = false
    await hot.read('b', async () => ((loaded = true), 'b'))
    expect(loaded).toBe(true)
    expect(hot.stats().size).toBe(2)
    const none = new HotDocuments({ capacity: 0 })
    await none.read('a', async () => 'a')
    expect(none.stats().size).toBe(0)
  })

  it('keeps at most maxBytes, the least recently used going first, and no copy over an eighth of them', async () => {
    const hot = new HotDocuments({ maxBytes: 80 })
    for (const id of ['a', 'b', 'c', 'd']) await hot.read(id, async () => id.repeat(10))
    expect(hot.stats()).toMatchObject({ size: 4, bytes: 40 })
    await hot.read('big', async () => 'x'.repeat(11)) // over 80 / 8: served, not kept
    expect(hot.peek('big')).toBeUndefined()
    for (const id of ['e', 'f', 'g', 'h', 'i']) await hot.read(id, async () => id.repeat(10))
    expect(hot.stats()).toMatchObject({ size: 8, bytes: 80 })
    expect(hot.peek('a')).toBeUndefined() // the oldest went first
    hot.evict(['i'])
    hot.evict(['i'])
    expect(hot.stats()).toMatchObject({ size: 7, bytes: 70 })
    hot.clear()
    expect(hot.stats()).toMatchObject({ size: 0, bytes: 0 })
  })

  it('serves a copy for maxAgeMs from when it was read, then loads it again (an eviction that never came)', async () => {
    let now = 0
    const hot = new HotDocuments({ maxAgeMs: 1_000, now: () => now })
    let version = 1
    const load = async () => `v${version}`
    expect(await hot.read('a', load)).toSatisfy(holding('v1'))
    version = 2 // changed elsewhere; its eviction is lost
    now = 999
    expect(await hot.read('a', load)).toSatisfy(holding('v1'))
    now = 1_000
    expect(await hot.read('a', load)).toSatisfy(holding('v2'))
    expect(hot.peek('a')).toSatisfy(holding('v2'))
    expect(hot.stats()).toMatchObject({ size: 1, hits: 2, misses: 2 })
  })
})
