import { afterEach, describe, expect, it } from 'vitest'
import { ValidationFailed, type Eviction, type EvictionBus } from '@tidings/core'
import { eventually } from '../eventually'

/** The buses of one deployment: every instance publishes and subscribes on the same channels. */
export interface EvictionBusNetwork {
  /** The bus of one more process (for a bus of one process: the same bus again). */
  instance(): Promise<EvictionBus>
  /** Closes every instance. */
  close(): Promise<void>
}

/** Records what one subscription heard, resets included, in order. */
function recorder(bus: EvictionBus, topic: string) {
  const heard: Array<Eviction | 'reset'> = []
  const unsubscribe = bus.subscribe(topic, (eviction) => heard.push(eviction), () => heard.push('reset'))
  return {
    heard,
    unsubscribe,
    evictions: () => heard.filter((e): e is Eviction => e !== 'reset'),
    ids: () => heard.flatMap((e) => (e === 'reset' ? ['reset'] : e.ids)),
  }
}

/**
 * Cache-eviction propagation: every subscriber of a topic, in every instance, hears each eviction published
 * on it (in the order one publisher sent them), and nothing of other topics. Every bus runs it; each test
 * opens a network of its own.
 */
export function evictionBusContract(name: string, open: () => Promise<EvictionBusNetwork>): void {
  describe(`eviction bus on ${name}`, () => {
    let network: EvictionBusNetwork | undefined
    afterEach(async () => {
      await network?.close()
      network = undefined
    })
    const start = async () => (network = await open())

    it("delivers to every subscriber of the topic in every instance, the publisher's own included, and nothing of other topics", async () => {
      const net = await start()
      const [a, b] = [await net.instance(), await net.instance()]
      const ownFirst = recorder(a, 'posts')
      const ownSecond = recorder(a, 'posts')
      const other = recorder(b, 'posts')
      const members = recorder(b, 'members')
      await a.publish({ topic: 'posts', ids: ['p1', 'p2'] })
      // Published after the posts eviction by the same publisher: once it arrived, so has everything before it.
      await a.publish({ topic: 'members', ids: ['m1'] })
      await eventually(() => members.heard.length, (n) => n >= 1, { what: 'the members eviction' })
      await eventually(() => ownFirst.heard.length + ownSecond.heard.length, (n) => n >= 2, { what: "the publisher's own listeners" })
      for (const posts of [ownFirst, ownSecond, other]) expect(posts.heard).toEqual([{ topic: 'posts', ids: ['p1', 'p2'] }])
      expect(members.heard).toEqual([{ topic: 'members', ids: ['m1'] }])
    })

    it('keeps the order in which one publisher sent its evictions, also when it does not wait between them', async () => {
      const net = await start()
      const [a, b] = [await net.instance(), await net.instance()]
      const mine = recorder(a, 'posts')
      const theirs = recorder(b, 'posts')
      const ids = Array.from({ length: 200 }, (_, i) => `p${i}`)
      await Promise.all(ids.slice(0, 100).map((id) => a.publish({ topic: 'posts', ids: [id] })))
      for (const id of ids.slice(100)) await a.publish({ topic: 'posts', ids: [id] })
      for (const heard of [mine, theirs]) {
        await eventually(() => heard.heard.length, (n) => n >= ids.length, { what: '200 evictions' })
        expect(heard.ids()).toEqual(ids)
      }
    })

    it('stops delivering to a listener once it unsubscribed, and keeps delivering to the others', async () => {
      const net = await start()
      const [a, b] = [await net.instance(), await net.instance()]
      const gone = recorder(b, 'posts')
      const staying = recorder(b, 'posts')
      await a.publish({ topic: 'posts', ids: ['before'] })
      await eventually(() => gone.heard.length + staying.heard.length, (n) => n >= 2, { what: 'the first eviction' })
      gone.unsubscribe()
      gone.unsubscribe()
      await a.publish({ topic: 'posts', ids: ['after'] })
      await a.publish({ topic: 'posts', ids: ['last'] })
      await eventually(() => staying.ids(), (seen) => seen.includes('last'), { what: 'the last eviction' })
      expect(gone.ids()).toEqual(['before'])
      expect(staying.ids()).toEqual(['before', 'after', 'last'])
    })

    it('carries ids and progress intact, and leaves progress out when there is none', async () => {
      const net = await start()
      const [a, b] = [await net.instance(), await net.instance()]
      const heard = recorder(b, 'board.posts 👋')
      const full: Eviction = {
        topic: 'board.posts 👋',
        ids: ['019ad3c4-0000-7000-8000-000000000001', 'ü "quoted" \\ {x}', ''],
        progress: [
          { source: 'board.post#0', position: '12345-67' },
          { source: 'board.comment', position: '0' },
        ],
      }
      await a.publish(full)
      await a.publish({ topic: 'board.posts 👋', ids: [] })
      await a.publish({ topic: 'board.posts 👋', ids: ['x'], progress: [] })
      await eventually(() => heard.heard.length, (n) => n >= 3, { what: 'three evictions' })
      expect(heard.heard).toEqual([full, { topic: 'board.posts 👋', ids: [] }, { topic: 'board.posts 👋', ids: ['x'], progress: [] }])
      expect(heard.heard[1]).not.toHaveProperty('progress')
    })

    it('refuses to publish what is not an eviction, and delivers nothing of it', async () => {
      const net = await start()
      const a = await net.instance()
      const heard = recorder(a, 'posts')
      for (const bad of [{ topic: '', ids: [] }, { topic: 'posts', ids: [1] }, { topic: 'posts', ids: [], progress: [{ source: 'x' }] }]) {
        await expect(a.publish(bad as unknown as Eviction)).rejects.toBeInstanceOf(ValidationFailed)
      }
      await a.publish({ topic: 'posts', ids: ['good'] })
      await eventually(() => heard.heard.length, (n) => n >= 1, { what: 'the good eviction' })
      expect(heard.ids()).toEqual(['good'])
    })

    it('delivers to the others when a listener throws, and the publisher does not see the failure', async () => {
      const net = await start()
      const [a, b] = [await net.instance(), await net.instance()]
      b.subscribe('posts', () => {
        throw new Error('a cache bug')
      }, () => {})
      const after = recorder(b, 'posts')
      await a.publish({ topic: 'posts', ids: ['p1'] })
      await a.publish({ topic: 'posts', ids: ['p2'] })
      await eventually(() => after.ids(), (seen) => seen.length >= 2, { what: 'both evictions' })
      expect(after.ids()).toEqual(['p1', 'p2'])
    })

    it('refuses to publish once closed, and its listeners hear nothing more', async () => {
      const net = await start()
      const [a, b] = [await net.instance(), await net.instance()]
      const closing = recorder(b, 'posts')
      const open = recorder(a, 'posts')
      await b.close()
      await expect(b.publish({ topic: 'posts', ids: ['x'] })).rejects.toMatchObject({ kind: 'unavailable' })
      if (a !== b) {
        await a.publish({ topic: 'posts', ids: ['p1'] })
        await eventually(() => open.ids(), (seen) => seen.includes('p1'), { what: 'the eviction on the open bus' })
      }
      expect(closing.heard).toEqual([])
    })
  })
}
