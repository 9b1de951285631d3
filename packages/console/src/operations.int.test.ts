import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { comparePositions, parseToken, START } from '@tidings/core'
import { serviceContext } from '@tidings/http'
import { eventually, testEngines } from '@tidings/testing'
import { AlreadyReplayed, DeadLetterNotFound, ReplayFailed, SubscriptionNotFound } from './console-errors'
import { Operations } from './operations'
import { fragileService, LABEL_PRINTER, PARCELS, type FragileService } from './test-kit/fragile-service'

for (const engine of await testEngines()) {
  describe(`Operations on ${engine.name}`, () => {
    let fragile: FragileService
    let operations: Operations
    const tokens: string[] = []

    async function label(text: string): Promise<string> {
      const response = await fragile.service.routes.request('/api/parcels', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ label: text }) })
      expect(response.status).toBe(201)
      const token = response.headers.get('Tidings-Position')!
      tokens.push(token)
      return token
    }

    const subscription = () => fragile.service.subscriptions[0]!
    const printerView = async () => (await operations.subscriptions()).find((s) => s.name === LABEL_PRINTER)!
    const caughtUp = async () => {
      const last = parseToken(tokens.at(-1)!).position
      await eventually(() => subscription().hasProcessed(PARCELS, last), Boolean, { what: 'the printer caught up' })
    }

    beforeAll(async () => {
      const { db } = await engine.freshDatabase()
      const ctx = serviceContext({ db })
      fragile = await fragileService(ctx)
      operations = Operations.of(db, [fragile.service])
    })
    afterAll(() => subscription()?.stop())

    it('shows a feed nobody reads yet: head, everything retained and all of it backlog', async () => {
      for (const text of ['a', 'b', 'c']) await label(text)
      const [feed] = await eventually(() => operations.feeds(), (feeds) => feeds[0]!.head === parseToken(tokens.at(-1)!).position, { what: 'the head' })
      expect(feed).toMatchObject({ source: PARCELS, schema: 'ops_fragile', readers: 1, retained: { events: 3, retentionSeconds: 7 * 86_400 }, backlog: { events: 3 } })
      expect(feed!.retained.oldestAt).toEqual(expect.any(String))
      expect(feed!.backlog.seconds).toBeGreaterThanOrEqual(0)
      const view = await printerView()
      expect(view).toMatchObject({ schema: 'ops_fragile', mode: 'inline', activeInstance: null, here: { active: false }, deadLetters: 0 })
      expect(view.follows).toEqual([{ source: PARCELS, position: START, lagEvents: 3, lagSeconds: expect.any(Number) }])
      expect(view.follows[0]!.lagSeconds).toBeGreaterThan(0)
    })

    it('shows the subscription caught up, its position, its rate and the instance holding the lease', async () => {
      subscription().start()
      await caughtUp()
      const view = await printerView()
      expect(view.follows[0]).toMatchObject({ source: PARCELS, lagEvents: 0, lagSeconds: 0 })
      expect(comparePositions(view.follows[0]!.position, parseToken(tokens.at(-1)!).position)).toBe(0)
      expect(view.perSecond).toBeGreaterThan(0)
      expect(view.activeInstance).toBe(subscription().instanceId)
      expect(view.here).toEqual({ instanceId: subscription().instanceId, active: true })
      // The feed's backlog counts this process's reader where it is now, not where it last reported.
      expect((await operations.feeds())[0]!.backlog).toEqual({ events: 0, oldestUnreadAt: null, seconds: 0 })
    })

    it('lists a poison message as a dead letter; a replay before the fix fails and keeps it', async () => {
      await label('poison pill')
      await label('d')
      await caughtUp()
      const [letter] = await operations.deadLetters()
      expect(letter).toMatchObject({
        schema: 'ops_fragile',
        consumer: LABEL_PRINTER,
        type: 'ParcelLabelled',
        source: PARCELS,
        attempts: 2,
        replayable: true,
        error: 'Error: label printer jammed on "poison pill"',
      })
      expect((await printerView()).deadLetters).toBe(1)
      expect(await fragile.printed()).toEqual(['a', 'b', 'c', 'd'])
      await expect(operations.replay('ops_fragile', letter!.id)).rejects.toThrow(ReplayFailed)
      expect((await operations.deadLetters()).map((l) => l.id)).toEqual([letter!.id])
    })

    it('replays it once after the fix; a second replay is refused', async () => {
      const [letter] = await operations.deadLetters()
      fragile.printer.broken = false
      await operations.replay('ops_fragile', letter!.id)
      expect(await fragile.printed()).toEqual(['a', 'b', 'c', 'd', 'poison pill'])
      expect(await operations.deadLetters()).toEqual([])
      expect((await printerView()).deadLetters).toBe(0)
      await expect(operations.replay('ops_fragile', letter!.id)).rejects.toThrow(AlreadyReplayed)
      expect(await fragile.printed()).toHaveLength(5)
    })

    it('refuses dead letters it does not know', async () => {
      for (const [schema, id] of [
        ['ops_fragile', '999999'],
        ['ops_fragile', 'not-a-number'],
        ['no_such_schema', '1'],
      ] as const) {
        await expect(operations.replay(schema, id)).rejects.toThrow(DeadLetterNotFound)
      }
    })

    it('rebuilds a subscription from the start of its feeds', async () => {
      await operations.reset(LABEL_PRINTER)
      await caughtUp()
      await eventually(() => fragile.printed(), (printed) => printed.length === 5, { what: 'the rebuild' })
      expect(await fragile.printed()).toEqual(['a', 'b', 'c', 'poison pill', 'd'])
      await expect(operations.reset('no.such.subscription')).rejects.toThrow(SubscriptionNotFound)
    })
  })
}
