import type { Documents, EvictionBus, FeedReader } from '@tidings/core'
import { HttpFeedReader } from '../http-feed-reader'
import { serviceHeaders } from './service-credential'
import type { AnyService, ServiceContext } from './service'

/** What a process offers the service it runs, opened on first ask from its environment and closed with it. */
export interface ProcessResources {
  /** Where the instances of a read side tell each other which documents changed (`EVICTIONS`); none in process. */
  evictions(): Promise<EvictionBus | undefined>
  /** A collection in a document store outside PostgreSQL (`DOCUMENTS`); none for the default rows. */
  documents<D extends object>(collection: string): Promise<Documents<D> | undefined>
}

/**
 * How one service of an app opens in a process of its own (`npm run start:service -- <name>`): configured
 * by the environment only, it finds the services it depends on by their URLs there (e.g. `IDENTITY_URL`).
 */
export type ServiceOpener = (ctx: ServiceContext, env: NodeJS.ProcessEnv, resources: ProcessResources) => Promise<AnyService>

/** An app's services as processes, by name. */
export type ServiceOpeners = Readonly<Record<string, ServiceOpener>>

/** The URL a service finds another at, e.g. `IDENTITY_URL=http://127.0.0.1:3001`; a clear error when unset. */
export function serviceUrl(env: NodeJS.ProcessEnv, variable: string): string {
  const url = env[variable]
  if (!url) throw new Error(`${variable} must say where that service listens (e.g. http://127.0.0.1:3001)`)
  return url
}

/**
 * Another service's feed as a process follows it: over HTTP from the service at `env[urlVariable]`; or,
 * when the process has a broker, from the broker — `openSubscription` then reads the source's partitions
 * there and only names this feed, so no URL is needed (services that follow each other need not start in
 * any order).
 */
export function followedFeed(ctx: ServiceContext, env: NodeJS.ProcessEnv, source: string, urlVariable: string): FeedReader {
  if (!ctx.transport) return new HttpFeedReader({ baseUrl: serviceUrl(env, urlVariable), source, headers: serviceHeaders(ctx.serviceCredential) })
  const viaBroker = async (): Promise<never> => {
    throw new Error(`${source} is read from the broker (${ctx.transport!.name}), not over HTTP`)
  }
  return { source, read: viaBroker, lag: viaBroker }
}
