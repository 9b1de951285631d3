import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { ConfirmWatchdog } from './confirm-watchdog'

const stalled = () => new Error('no confirm in time')

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => {}
  const promise = new Promise<void>((r) => (resolve = r))
  return { promise, resolve }
}

/** Blocks the event loop, as a busy process does, for `ms`. */
function busy(ms: number): void {
  const until = performance.now() + ms
  while (performance.now() < until) {
    // spin
  }
}

describe('ConfirmWatchdog', () => {
  const closers: Array<() => void> = []
  afterEach(() => closers.splice(0).forEach((close) => close()))

  it('fails every confirm it watches once none has come in time, and every one watched after', async () => {
    const watchdog = new ConfirmWatchdog(20, stalled)
    const never = new Promise<void>(() => {})
    const first = watchdog.watch(never)
    const second = watchdog.watch(never)
    await expect(first).rejects.toThrow('no confirm in time')
    await expect(second).rejects.toThrow('no confirm in time')
    await expect(watchdog.watch(never)).rejects.toThrow('no confirm in time')
  })

  it('restarts its timer with every confirm, and stops it while nothing is awaited', async () => {
    const watchdog = new ConfirmWatchdog(500, stalled)
    const confirms = Array.from({ length: 4 }, deferred)
    const watched = confirms.map(({ promise }) => watchdog.watch(promise))
    for (const confirm of confirms) {
      await new Promise((resolve) => setTimeout(resolve, 150)) // each well under the limit, all together over it
      confirm.resolve()
    }
    await expect(Promise.all(watched)).resolves.toEqual([undefined, undefined, undefined, undefined])
    await new Promise((resolve) => setTimeout(resolve, 600)) // nothing awaited: no timer to fire
    await expect(watchdog.watch(Promise.resolve())).resolves.toBeUndefined()
  })

  it('keeps the channel when a confirm is read in the same turn of the event loop as its timer fired', async () => {
    // The confirm is a socket's data, there before the timer fires but read after it: the loop was busy.
    const server: Server = await new Promise((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => resolve(s))
    })
    closers.push(() => server.close())
    const received = new Promise<Socket>((resolve) => server.once('connection', resolve))
    const client = connect((server.address() as AddressInfo).port, '127.0.0.1')
    closers.push(() => client.destroy())
    const peer = await received
    closers.push(() => peer.destroy())
    const confirm = new Promise<void>((resolve) => peer.once('data', () => resolve()))

    const watchdog = new ConfirmWatchdog(200, stalled)
    const watched = watchdog.watch(confirm)
    const later = deferred()
    const next = watchdog.watch(later.promise)
    // From the check phase: the loop's next turn runs the expired timer first, then reads the data.
    await new Promise<void>((resolve) =>
      setImmediate(() => {
        client.write('ack')
        busy(300) // the data arrives and the timer expires while the loop cannot look
        resolve()
      }),
    )
    await expect(watched).resolves.toBeUndefined()
    setTimeout(later.resolve, 5) // after that turn, within the limit of the timer the confirm restarted
    await expect(next).resolves.toBeUndefined()
  })
})
