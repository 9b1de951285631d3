import type { Envelope } from './envelope'

/** Runs inside the command's transaction; throwing rolls the command back. */
export type InTransactionHandler<Tx, E extends Envelope = Envelope> = (tx: Tx, event: E) => Promise<void>

/** Runs in process after the commit, best effort; a failure is logged and counted, never raised. */
export type AfterCommitHandler<E extends Envelope = Envelope> = (event: E) => Promise<void> | void

/** Consumes an envelope from a feed or broker inside the consumer's own transaction (inbox + writes + checkpoint). */
export type MessageHandler<Tx, E extends Envelope = Envelope> = (tx: Tx, message: E) => Promise<void>

export interface Logger {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

export const silentLogger: Logger = { info: () => {}, warn: () => {}, error: () => {} }
