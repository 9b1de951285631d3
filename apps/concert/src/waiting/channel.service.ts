import { Hono } from 'hono'
import type { EvictionBus } from '@tidings/core'
import type { AnyService, ServiceContext } from '@tidings/http'
import { DEFAULT_CHANNEL, QueueChannel, type QueueChannelSettings } from './queue-channel'
import { QueueChannelTransports } from './queue-channel.transports'
import type { WaitingRoomStore } from './waiting-room.store'

export const CHANNEL_SERVICE = 'concert.channel'

export interface ChannelServiceDeps {
  /** The waiting room's store, read (never changed) here but for marking connected waiters present. */
  store: WaitingRoomStore & { close?(): void }
  /** Where the waiting room announces which rooms changed. */
  changes: EvictionBus | undefined
  settings?: Partial<QueueChannelSettings> | undefined
  /** Close the store with the service (it is the channel's own, as in a process of its own). */
  ownsStore?: boolean
}

/**
 * The client channel: pushes each connected holder its own status and position, over WebSocket
 * (`GET /api/queue/:token/ws`) and Server-Sent Events (`GET /api/queue/:token/events`); polling stays with
 * the waiting room (`GET /api/queue/:token`). It may run beside the waiting room or as a process of its own.
 */
export function channelService(ctx: ServiceContext, deps: ChannelServiceDeps): AnyService & { channel: QueueChannel } {
  const channel = new QueueChannel({ store: deps.store, changes: deps.changes, clock: ctx.clock, logger: ctx.logger, settings: { ...DEFAULT_CHANNEL, ...deps.settings } })
  const transports = new QueueChannelTransports(channel, ctx.logger)
  return {
    name: CHANNEL_SERVICE,
    channel,
    routes: new Hono(),
    feeds: {},
    subscriptions: [],
    workers: [channel, transports],
    fastPath: transports.fastPath,
    upgrade: transports.upgrade,
    producerSchemas: [],
    consumerSchemas: [],
    close: () => {
      if (deps.ownsStore) deps.store.close?.()
    },
  }
}
