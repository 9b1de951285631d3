import { TidingsError } from '@tidings/core'

export class PasswordChecksBusy extends TidingsError {
  constructor() {
    super('PASSWORD_CHECKS_BUSY', 'unavailable', 'Too many log-ins and sign-ups are being checked right now; try again in a moment')
  }
}

/**
 * Runs at most `concurrent` password hashes at once, with at most `waiting` more queued; past that a hash
 * is refused at once (`PasswordChecksBusy`, 503). Each scrypt at OWASP's cost holds 128 MiB and about 0.6 s
 * of a libuv thread (more when the threads outnumber the cores): unbounded, a burst of log-ins within every limit (from many addresses)
 * would grow memory and make every member's log-in wait behind it for tens of seconds.
 */
export function hashingSlots(concurrent: number, waiting: number): <T>(work: () => Promise<T>) => Promise<T> {
  let running = 0
  const queue: Array<() => void> = []
  const release = (): void => {
    const next = queue.shift()
    if (next) next()
    else running--
  }
  return async (work) => {
    if (running < concurrent) running++
    else if (queue.length < waiting) await new Promise<void>((resolve) => queue.push(resolve))
    else throw new PasswordChecksBusy()
    try {
      return await work()
    } finally {
      release()
    }
  }
}
