import { describe, expect, it } from 'vitest'
import { ConfirmWindow } from './confirm-window'

/** A connection whose confirms the test gives (or refuses) by hand, in the order messages were sent. */
class ScriptedConnection {
  readonly sent: string[] = []
  private readonly waiting: Array<{ message: string; confirm: () => void; refuse: (error: Error) => void }> = []

  readonly send = (message: string): Promise<void> => {
    this.sent.push(message)
    return new Promise((confirm, refuse) => this.waiting.push({ message, confirm, refuse }))
  }

  get unconfirmed(): string[] {
    return this.waiting.map((w) => w.message)
  }

  async confirm(count = Infinity): Promise<void> {
    for (const w of this.waiting.splice(0, count)) w.confirm()
    await settle()
  }

  async refuse(message: string): Promise<void> {
    const at = this.waiting.findIndex((w) => w.message === message)
    this.waiting.splice(at, 1)[0]!.refuse(new Error(`refused ${message}`))
    await settle()
  }
}

const settle = () => new Promise((resolve) => setImmediate(resolve))
const outcome = (publish: Promise<void>) => publish.then(() => 'confirmed', (error: Error) => error.message)
const page = (name: string, n: number) => Array.from({ length: n }, (_, i) => `${name}${i + 1}`)

describe('ConfirmWindow', () => {
  it('sends overlapping publishes in the order they were made, and resolves each once its own are confirmed', async () => {
    const broker = new ScriptedConnection()
    const window = new ConfirmWindow(8)
    const first = outcome(window.publish(page('a', 3), broker.send))
    const second = outcome(window.publish(page('b', 3), broker.send))
    await settle()
    expect(broker.sent).toEqual([...page('a', 3), ...page('b', 3)])
    expect(window.idle).toBe(false)
    await broker.confirm(3)
    expect(await first).toBe('confirmed')
    await broker.confirm()
    expect(await second).toBe('confirmed')
    expect(window.idle).toBe(true)
  })

  it('holds at most `size` unconfirmed, across publishes; a full window drains to half before it refills', async () => {
    const broker = new ScriptedConnection()
    const window = new ConfirmWindow(4)
    const first = outcome(window.publish(page('a', 3), broker.send))
    const second = outcome(window.publish(page('b', 4), broker.send))
    await settle()
    expect(broker.unconfirmed).toEqual(['a1', 'a2', 'a3', 'b1'])
    await broker.confirm(1)
    expect(broker.unconfirmed).toEqual(['a2', 'a3', 'b1']) // not yet at half: nothing more goes out
    await broker.confirm(1)
    expect(broker.unconfirmed).toEqual(['a3', 'b1', 'b2', 'b3'])
    await broker.confirm()
    await broker.confirm()
    expect([await first, await second]).toEqual(['confirmed', 'confirmed'])
    expect(broker.sent).toEqual([...page('a', 3), ...page('b', 4)])
  })

  it('breaks at the first failure: the publishes in flight and queued behind it fail and send nothing more', async () => {
    const broker = new ScriptedConnection()
    const window = new ConfirmWindow(4)
    const first = outcome(window.publish(page('a', 3), broker.send))
    const second = outcome(window.publish(page('b', 4), broker.send))
    const third = outcome(window.publish(page('c', 2), broker.send))
    await settle()
    await broker.refuse('a2')
    await broker.confirm()
    expect(await first).toBe('refused a2')
    expect(await second).toBe('refused a2')
    expect(await third).toBe('refused a2')
    expect(broker.sent).toEqual(['a1', 'a2', 'a3', 'b1'])
    expect(window.broken).toBe(true)
    expect(await outcome(window.publish(['d1'], broker.send))).toBe('refused a2')
    expect(broker.sent).toHaveLength(4)
  })

  it('fails a publish whose own messages were confirmed when an earlier one on the window failed', async () => {
    const broker = new ScriptedConnection()
    const window = new ConfirmWindow(8)
    const first = outcome(window.publish(['a1'], broker.send))
    const second = outcome(window.publish(['b1'], broker.send))
    await settle()
    await broker.refuse('a1')
    await broker.confirm()
    expect([await first, await second]).toEqual(['refused a1', 'refused a1'])
  })

  it('is broken from outside by a lost connection, and by a send that throws', async () => {
    const lost = new ConfirmWindow(4)
    lost.fail(new Error('connection lost'))
    const broker = new ScriptedConnection()
    expect(await outcome(lost.publish(['a1'], broker.send))).toBe('connection lost')
    expect(broker.sent).toEqual([])

    const throwing = new ConfirmWindow(4)
    const failing = outcome(
      throwing.publish(['a1'], () => {
        throw new Error('no channel')
      }),
    )
    expect(await failing).toBe('no channel')
    expect(throwing.broken).toBe(true)
    expect(throwing.idle).toBe(true)
  })

  it('refuses a size below one', () => {
    expect(() => new ConfirmWindow(0)).toThrow(RangeError)
  })
})
