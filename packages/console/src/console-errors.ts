import { TidingsError } from '@tidings/core'

export class DeadLetterNotFound extends TidingsError {
  constructor(schema: string, id: string) {
    super('DEAD_LETTER_NOT_FOUND', 'not_found', `No dead letter ${JSON.stringify(id.slice(0, 40))} in ${JSON.stringify(schema.slice(0, 64))}`)
  }
}

export class AlreadyReplayed extends TidingsError {
  constructor(id: string) {
    super('ALREADY_REPLAYED', 'conflict', `Dead letter ${id} has already been replayed`)
  }
}

export class NotReplayableHere extends TidingsError {
  constructor(consumer: string) {
    super('NOT_REPLAYABLE_HERE', 'conflict', `No subscription of ${consumer} runs in this process; replay it where it runs`)
  }
}

/** The handler failed again: the letter stays, and the operator sees why. */
export class ReplayFailed extends TidingsError {
  constructor(id: string, reason: string) {
    super('REPLAY_FAILED', 'conflict', `Replaying dead letter ${id} failed again: ${reason}`)
  }
}

export class SubscriptionNotFound extends TidingsError {
  constructor(name: string) {
    super('SUBSCRIPTION_NOT_FOUND', 'not_found', `No subscription ${JSON.stringify(name.slice(0, 100))} runs in this process`)
  }
}

export class OperatorDisabled extends TidingsError {
  constructor() {
    super('OPERATOR_DISABLED', 'forbidden', 'The console is disabled: set TIDINGS_OPERATOR_TOKEN to enable it')
  }
}

export class OperatorUnauthorized extends TidingsError {
  constructor() {
    super('OPERATOR_UNAUTHORIZED', 'unauthorized', 'This needs the operator token (Authorization: Bearer <token>); the console\'s pages also take a session signed in at /console')
  }
}
