import { describe, expect, it, vi } from 'vitest'
import { Dispatcher } from './dispatcher'
import type { Envelope } from './envelope'
import type { Logger } from './handlers'

interface Tx {
  name: string
}

let n = 0
function envelope(type: string, key = 'k1'): Envelope {
  n += 1
  return {
    id: `0190f4b2-7c3a-7def-8abc-${String(n).padStart(12, '0')}`,
    type,
    source: 'test.source',
    key,
    occurredAt: '2026-01-01T00:00:00.000Z',
    data: { n },
    meta: {},
  }
}

/** Lets a few turns of the microtask queue pass, to give an un-awaited handler the chance to overtake. */
async function yieldMicrotasks(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await Promise.resolve()
}

function recordingLogger(): Logger & { warnings: Array<{ obj: object; msg?: string }> } {
  const warnings: Array<{ obj: object; msg?: string }> = []
  return { warnings, info: () => {}, error: () => {}, warn: (obj, msg) => warnings.push({ obj, msg }) }
}

describe('Dispatcher', () => {
  it('returns itself from registrations, so they chain', () => {
    const dispatcher = new Dispatcher<Tx>()
    expect(dispatcher.inTransaction('a', async () => {}).afterCommit('a', () => {})).toBe(dispatcher)
  })

  describe('dispatchInTransaction', () => {
    it('runs handlers in the order events were recorded, and per event in the order they were registered', async () => {
      const calls: string[] = []
      const dispatcher = new Dispatcher<Tx>()
        .inTransaction('x.A.v1', async (_tx, e) => void calls.push(`A1:${e.key}`))
        .inTransaction('x.B.v1', async (_tx, e) => void calls.push(`B1:${e.key}`))
        .inTransaction('x.A.v1', async (_tx, e) => void calls.push(`A2:${e.key}`))

      await dispatcher.dispatchInTransaction({ name: 'tx' }, [envelope('x.A.v1', 'first'), envelope('x.B.v1', 'second'), envelope('x.A.v1', 'third')])

      expect(calls).toEqual(['A1:first', 'A2:first', 'B1:second', 'A1:third', 'A2:third'])
    })

    it('passes the transaction and the very envelope to each handler', async () => {
      const tx = { name: 'tx-1' }
      const e = envelope('x.A.v1')
      const handler = vi.fn(async (_tx: Tx, _e: Envelope) => {})
      await new Dispatcher<Tx>().inTransaction('x.A.v1', handler).dispatchInTransaction(tx, [e])
      expect(handler).toHaveBeenCalledTimes(1)
      expect(handler.mock.calls[0]![0]).toBe(tx)
      expect(handler.mock.calls[0]![1]).toBe(e)
    })

    it('waits for each handler before starting the next (one transaction is one session)', async () => {
      const calls: string[] = []
      const dispatcher = new Dispatcher<Tx>()
        .inTransaction('x.A.v1', async () => {
          calls.push('first:start')
          await yieldMicrotasks()
          calls.push('first:end')
        })
        .inTransaction('x.A.v1', async () => {
          calls.push('second:start')
        })
      await dispatcher.dispatchInTransaction({ name: 'tx' }, [envelope('x.A.v1')])
      expect(calls).toEqual(['first:start', 'first:end', 'second:start'])
    })

    it('skips events that no handler is registered for', async () => {
      const handler = vi.fn(async () => {})
      const dispatcher = new Dispatcher<Tx>().inTransaction('x.A.v1', handler)
      await dispatcher.dispatchInTransaction({ name: 'tx' }, [envelope('x.Other.v1'), envelope('x.A.v1.extra')])
      expect(handler).not.toHaveBeenCalled()
    })

    it('does nothing for no events', async () => {
      const handler = vi.fn(async () => {})
      await expect(new Dispatcher<Tx>().inTransaction('x.A.v1', handler).dispatchInTransaction({ name: 'tx' }, [])).resolves.toBeUndefined()
      expect(handler).not.toHaveBeenCalled()
    })

    it('rejects with the first failure and runs nothing after it, so the caller rolls back', async () => {
      const calls: string[] = []
      const boom = new Error('boom')
      const dispatcher = new Dispatcher<Tx>()
        .inTransaction('x.A.v1', async () => void calls.push('A1'))
        .inTransaction('x.A.v1', async () => {
          calls.push('A2')
          throw boom
        })
        .inTransaction('x.A.v1', async () => void calls.push('A3'))
        .inTransaction('x.B.v1', async () => void calls.push('B1'))

      await expect(dispatcher.dispatchInTransaction({ name: 'tx' }, [envelope('x.A.v1'), envelope('x.B.v1')])).rejects.toBe(boom)
      expect(calls).toEqual(['A1', 'A2'])
    })

    it('propagates a failure of a later event after running the handlers of earlier ones', async () => {
      const calls: string[] = []
      const dispatcher = new Dispatcher<Tx>()
        .inTransaction('x.A.v1', async () => void calls.push('A'))
        .inTransaction('x.B.v1', async () => {
          throw new RangeError('bad B')
        })
      await expect(dispatcher.dispatchInTransaction({ name: 'tx' }, [envelope('x.A.v1'), envelope('x.B.v1'), envelope('x.A.v1')])).rejects.toThrow(
        RangeError,
      )
      expect(calls).toEqual(['A'])
    })

    it('does not run after-commit handlers', async () => {
      const afterCommit = vi.fn()
      await new Dispatcher<Tx>().afterCommit('x.A.v1', afterCommit).dispatchInTransaction({ name: 'tx' }, [envelope('x.A.v1')])
      expect(afterCommit).not.toHaveBeenCalled()
    })

    it('keeps registrations of separate dispatchers apart', async () => {
      const handler = vi.fn(async () => {})
      new Dispatcher<Tx>().inTransaction('x.A.v1', handler)
      await new Dispatcher<Tx>().dispatchInTransaction({ name: 'tx' }, [envelope('x.A.v1')])
      expect(handler).not.toHaveBeenCalled()
    })
  })

  describe('dispatchAfterCommit', () => {
    it('runs handlers in recording order, waiting for each', async () => {
      const calls: string[] = []
      const dispatcher = new Dispatcher<Tx>()
        .afterCommit('x.A.v1', async (e) => {
          await yieldMicrotasks()
          calls.push(`A1:${e.key}`)
        })
        .afterCommit('x.B.v1', (e) => void calls.push(`B1:${e.key}`))
        .afterCommit('x.A.v1', (e) => void calls.push(`A2:${e.key}`))
      await dispatcher.dispatchAfterCommit([envelope('x.A.v1', 'first'), envelope('x.B.v1', 'second')])
      expect(calls).toEqual(['A1:first', 'A2:first', 'B1:second'])
    })

    it('does not run in-transaction handlers', async () => {
      const inTx = vi.fn(async () => {})
      await new Dispatcher<Tx>().inTransaction('x.A.v1', inTx).dispatchAfterCommit([envelope('x.A.v1')])
      expect(inTx).not.toHaveBeenCalled()
    })

    describe('when a handler fails', () => {
      function failing() {
        const calls: string[] = []
        const asyncFailure = new Error('mail server down')
        const syncFailure = new TypeError('cannot read x')
        const logger = recordingLogger()
        const onAfterCommitFailure = vi.fn()
        const dispatcher = new Dispatcher<Tx>({ logger, onAfterCommitFailure })
          .afterCommit('x.A.v1', async () => {
            calls.push('A1')
            throw asyncFailure
          })
          .afterCommit('x.A.v1', () => void calls.push('A2'))
          .afterCommit('x.B.v1', () => {
            calls.push('B1')
            throw syncFailure
          })
          .afterCommit('x.B.v1', async () => void calls.push('B2'))
        return { dispatcher, calls, logger, onAfterCommitFailure, asyncFailure, syncFailure }
      }

      it('swallows the failure: the command has already committed', async () => {
        const { dispatcher } = failing()
        await expect(dispatcher.dispatchAfterCommit([envelope('x.A.v1'), envelope('x.B.v1')])).resolves.toBeUndefined()
      })

      it('still runs the later handlers of the same event and of later events', async () => {
        const { dispatcher, calls } = failing()
        await dispatcher.dispatchAfterCommit([envelope('x.A.v1'), envelope('x.B.v1'), envelope('x.A.v1')])
        expect(calls).toEqual(['A1', 'A2', 'B1', 'B2', 'A1', 'A2'])
      })

      it('logs a warning naming the error, the type and the message id', async () => {
        const { dispatcher, logger, asyncFailure, syncFailure } = failing()
        const a = envelope('x.A.v1')
        const b = envelope('x.B.v1')
        await dispatcher.dispatchAfterCommit([a, b])
        expect(logger.warnings).toEqual([
          { obj: { err: asyncFailure, type: 'x.A.v1', id: a.id }, msg: 'after-commit handler failed' },
          { obj: { err: syncFailure, type: 'x.B.v1', id: b.id }, msg: 'after-commit handler failed' },
        ])
      })

      it('reports each failure once through onAfterCommitFailure, with the type and the error', async () => {
        const { dispatcher, onAfterCommitFailure, asyncFailure, syncFailure } = failing()
        await dispatcher.dispatchAfterCommit([envelope('x.A.v1'), envelope('x.B.v1'), envelope('x.A.v1')])
        expect(onAfterCommitFailure.mock.calls).toEqual([
          ['x.A.v1', asyncFailure],
          ['x.B.v1', syncFailure],
          ['x.A.v1', asyncFailure],
        ])
      })

      it('does not report handlers that succeeded', async () => {
        const onAfterCommitFailure = vi.fn()
        const logger = recordingLogger()
        await new Dispatcher<Tx>({ logger, onAfterCommitFailure }).afterCommit('x.A.v1', async () => {}).dispatchAfterCommit([envelope('x.A.v1')])
        expect(onAfterCommitFailure).not.toHaveBeenCalled()
        expect(logger.warnings).toEqual([])
      })

      it('reports values thrown that are not Errors as they are', async () => {
        const onAfterCommitFailure = vi.fn()
        const dispatcher = new Dispatcher<Tx>({ onAfterCommitFailure })
          .afterCommit('x.A.v1', () => {
            throw 'a string'
          })
          .afterCommit('x.A.v1', () => Promise.reject(undefined))
        await dispatcher.dispatchAfterCommit([envelope('x.A.v1')])
        expect(onAfterCommitFailure.mock.calls).toEqual([
          ['x.A.v1', 'a string'],
          ['x.A.v1', undefined],
        ])
      })

      it('swallows failures without any hooks (silent logger)', async () => {
        const later = vi.fn()
        const dispatcher = new Dispatcher<Tx>()
          .afterCommit('x.A.v1', async () => {
            throw new Error('boom')
          })
          .afterCommit('x.A.v1', later)
        await expect(dispatcher.dispatchAfterCommit([envelope('x.A.v1')])).resolves.toBeUndefined()
        expect(later).toHaveBeenCalledTimes(1)
      })
    })
  })

  describe('fixed defects', () => {
    // dispatchAfterCommit promises never to throw, but a hook or logger that throws inside the catch escapes
    // it: the caller sees a failure for a command that has committed, and the remaining handlers are skipped.
    it('never throws even when onAfterCommitFailure throws, and later handlers still run', async () => {
      const later = vi.fn()
      const dispatcher = new Dispatcher<Tx>({
        onAfterCommitFailure: () => {
          throw new Error('metrics registry closed')
        },
      })
        .afterCommit('x.A.v1', () => {
          throw new Error('boom')
        })
        .afterCommit('x.A.v1', later)
      await expect(dispatcher.dispatchAfterCommit([envelope('x.A.v1')])).resolves.toBeUndefined()
      expect(later).toHaveBeenCalledTimes(1)
    })

    it('never throws even when the logger throws', async () => {
      const logger: Logger = {
        info: () => {},
        error: () => {},
        warn: () => {
          throw new Error('log transport closed')
        },
      }
      const dispatcher = new Dispatcher<Tx>({ logger }).afterCommit('x.A.v1', () => {
        throw new Error('boom')
      })
      await expect(dispatcher.dispatchAfterCommit([envelope('x.A.v1')])).resolves.toBeUndefined()
    })
  })
})
