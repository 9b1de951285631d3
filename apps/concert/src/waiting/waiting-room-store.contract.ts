import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { newQueueToken } from './waiting-room'
import type { WaitingRoomStore } from './waiting-room.store'

/**
 * What every waiting-room store does (the application's database, Redis): run by each store's test.
 * `open` gives a store on a room of its own (fresh schema or key prefix).
 */
export function waitingRoomStoreContract(name: string, open: () => Promise<WaitingRoomStore>): void {
  describe(`the waiting room store on ${name}`, () => {
    const t0 = new Date('2030-01-01T10:00:00Z')
    const at = (ms: number) => new Date(t0.getTime() + ms)
    const join = (store: WaitingRoomStore, concert: string, member: string, ms = 0) => store.join(concert, member, newQueueToken(), at(ms))
    const positionOf = async (store: WaitingRoomStore, token: string) => (await store.standing(token))?.position

    it('the same member ten times at once: one token, the same for all', async () => {
      const store = await open()
      const concert = randomUUID()
      const joins = await Promise.all(Array.from({ length: 10 }, () => join(store, concert, 'ann')))
      expect(joins.filter((j) => j.created)).toHaveLength(1)
      expect(new Set(joins.map((j) => j.token.token)).size).toBe(1)
      expect(joins[0]!.token).toMatchObject({ concertId: concert, memberId: 'ann', status: 'WAITING', activeUntil: null })
    })

    it('1,000 members at once: positions 1..1,000 without gaps or repeats, in arrival order', async () => {
      const store = await open()
      const concert = randomUUID()
      const joins = await Promise.all(Array.from({ length: 1_000 }, (_, i) => join(store, concert, `m${i}`)))
      const positions = await Promise.all(joins.map((j) => positionOf(store, j.token.token)))
      expect([...positions].sort((a, b) => a! - b!)).toEqual(Array.from({ length: 1_000 }, (_, i) => i + 1))
      const bySeq = joins.map((j, i) => ({ seq: j.token.seq!, position: positions[i]! })).sort((a, b) => a.seq - b.seq)
      expect(bySeq.map((x) => x.position)).toEqual(Array.from({ length: 1_000 }, (_, i) => i + 1))
      // A join answers where it stood then: never behind where it stands once everyone is in.
      expect(joins.every((j, i) => j.position! >= 1 && j.position! <= positions[i]!)).toBe(true)
    })

    it('admits in arrival order up to the capacity; a place freed goes to the next; positions only go down', async () => {
      const store = await open()
      const concert = randomUUID()
      const [a, b, c, d] = [await join(store, concert, 'a'), await join(store, concert, 'b'), await join(store, concert, 'c'), await join(store, concert, 'd')]
      const admitted = await store.admit(concert, 2, at(1), at(60_000))
      expect(admitted.map((t) => t.memberId)).toEqual(['a', 'b'])
      expect(await store.find(a.token.token)).toMatchObject({ status: 'ACTIVE', activeUntil: at(60_000).toISOString() })
      expect(await store.admit(concert, 2, at(2), at(60_000))).toEqual([])
      expect([await positionOf(store, c.token.token), await positionOf(store, d.token.token)]).toEqual([1, 2])
      expect((await store.standing(a.token.token))?.position).toBe(0)
      expect(await store.leave(a.token.token, at(3))).toBe(true)
      expect(await store.leave(a.token.token, at(3))).toBe(false)
      expect((await store.admit(concert, 2, at(4), at(60_000))).map((t) => t.memberId)).toEqual(['c'])
      expect(await positionOf(store, d.token.token)).toBe(1)
      expect(await store.admittedPerSecond(concert, at(5), 60_000)).toBeCloseTo(3 / 60)
      expect(await store.concertsWaiting()).toContain(concert)
      void b
    })

    it('a payment completes the ACTIVE token admitted before it, once; the member may queue again', async () => {
      const store = await open()
      const concert = randomUUID()
      const first = await join(store, concert, 'ann')
      await store.admit(concert, 1, at(10), at(60_000))
      expect(await store.complete(concert, 'ann', at(5), at(11))).toBe(false) // paid before this token was admitted
      expect(await store.complete(concert, 'ann', at(20), at(21))).toBe(true)
      expect(await store.complete(concert, 'ann', at(20), at(21))).toBe(false)
      expect((await store.find(first.token.token))?.status).toBe('COMPLETED')
      // Seen after it ended (a poll racing the payment): an ended token is not made a waiter again, nor swept.
      await store.seen(concert, [first.token.token], at(22))
      expect(await store.sweep(at(100_000), at(99_000))).toEqual({ freed: [], nextEnd: null })
      expect((await store.find(first.token.token))?.status).toBe('COMPLETED')
      const again = await join(store, concert, 'ann', 30)
      expect([again.created, again.token.token === first.token.token, again.token.status]).toEqual([true, false, 'WAITING'])
    })

    it('a sweep ends ACTIVE tokens past their time and waiters not seen since the idle limit, and says where places freed', async () => {
      const store = await open()
      const concert = randomUUID()
      const active = await join(store, concert, 'active')
      await store.admit(concert, 1, at(0), at(1_000))
      const present = await join(store, concert, 'present')
      const idle = await join(store, concert, 'idle')
      await store.seen(concert, [present.token.token], at(5_000))
      expect(await store.sweep(at(500), at(-1))).toEqual({ freed: [], nextEnd: at(1_000) }) // when the next place frees
      expect(await store.sweep(at(2_000), at(-1))).toEqual({ freed: [concert], nextEnd: null }) // only the active one's time is up
      expect((await store.find(active.token.token))?.status).toBe('EXPIRED')
      expect(await store.sweep(at(6_000), at(4_000))).toEqual({ freed: [concert], nextEnd: null })
      expect([(await store.find(present.token.token))?.status, (await store.find(idle.token.token))?.status]).toEqual(['WAITING', 'EXPIRED'])
      expect(await positionOf(store, present.token.token)).toBe(1)
      expect(await store.sweep(at(6_000), at(4_000))).toEqual({ freed: [], nextEnd: null })
    })

    it('a pre-queue has no places until the line opens, in the order given, ahead of those who came since; nothing in it is admitted before', async () => {
      const store = await open()
      const concert = randomUUID()
      const early = await Promise.all(['a', 'b', 'c', 'd'].map((m) => store.join(concert, m, newQueueToken(), at(0), true)))
      expect(early.map((j) => j.position)).toEqual([null, null, null, null])
      expect(await Promise.all(early.map((j) => positionOf(store, j.token.token)))).toEqual([null, null, null, null])
      expect(await store.admit(concert, 10, at(1), at(60_000))).toEqual([])
      expect(await store.concertsWaiting()).toContain(concert)
      const late = await join(store, concert, 'late', 2)
      expect([...(await store.preQueued(concert))].sort()).toEqual(early.map((j) => j.token.token).sort())
      const order = [early[2]!, early[0]!, early[3]!, early[1]!].map((j) => j.token.token)
      await store.openLine(concert, order)
      expect(await Promise.all(order.map((token) => positionOf(store, token)))).toEqual([1, 2, 3, 4])
      expect(await positionOf(store, late.token.token)).toBe(5)
      expect(await store.preQueued(concert)).toEqual([])
      // One who joined the pre-queue as it opened goes behind everyone.
      const straggler = await store.join(concert, 'straggler', newQueueToken(), at(3), true)
      await store.openLine(concert, [straggler.token.token])
      expect(await positionOf(store, straggler.token.token)).toBe(6)
      expect((await store.admit(concert, 2, at(4), at(60_000))).map((t) => t.memberId)).toEqual(['c', 'a'])
    })

    it('reads where many tokens stand at once: positions of those in line, null in the pre-queue, nothing for the others', async () => {
      const store = await open()
      const concert = randomUUID()
      const other = randomUUID()
      const [a, b, c, d] = [await join(store, concert, 'a'), await join(store, concert, 'b'), await join(store, concert, 'c'), await join(store, concert, 'd')]
      const pre = await store.join(concert, 'pre', newQueueToken(), at(0), true)
      const elsewhere = await join(store, other, 'a')
      await store.admit(concert, 1, at(1), at(60_000))
      await store.leave(c.token.token, at(2))
      const line = await store.lineOf(concert, [a, b, c, d, pre, elsewhere].map((j) => j.token.token).concat(newQueueToken()))
      expect(Object.fromEntries(line)).toEqual({ [b.token.token]: 1, [d.token.token]: 2, [pre.token.token]: null })
      expect(await store.lineOf(concert, [])).toEqual(new Map())
    })

    it('knows no token it did not make', async () => {
      const store = await open()
      expect(await store.find(newQueueToken())).toBeUndefined()
      expect(await store.standing(newQueueToken())).toBeUndefined()
    })
  })
}
