import type { Hono } from 'hono'
import type { Logger } from '@tidings/core'
import { serveHttp } from '@tidings/http'
import { gateway, type GatewayApi, type GatewayRoutes } from './gateway'
import { gatewayUpgrade } from './gateway-upgrade'
import { ServiceProcess } from './service-process'

export interface ClusterService {
  /** As the script knows it (`TIDINGS_SERVICE`), e.g. `board.query`. */
  name: string
  /** Competing instances (default 1). */
  instances?: number
  /** The variable in which the services of later stages find where it listens, e.g. `IDENTITY_URL`. */
  urlVariable?: string
}

export interface ClusterPlan {
  /** Runs one service per process, the one named by `TIDINGS_SERVICE`. */
  script: string
  /** Started stage after stage: each service is told where the services of earlier stages listen. */
  stages: ReadonlyArray<readonly ClusterService[]>
  /** What every service's process gets, beside the URLs (a broker, an eviction bus…). */
  env: Record<string, string | undefined>
  /** The database of each service (one may have its own). */
  databaseOf(service: string): string
  routes: GatewayRoutes
  pages?: (api: GatewayApi) => Hono
  port: number
  hostname?: string
  logger: Logger
}

export interface RunningCluster {
  port: number
  /** Where each service's instances listen. */
  instances: Record<string, string[]>
  stop(): Promise<void>
}

/**
 * Starts every service of the plan as its own process, kept running (see `ServiceProcess`), behind one
 * gateway on `port`. A service that fails to start stops the ones already started.
 */
export async function startCluster(plan: ClusterPlan): Promise<RunningCluster> {
  const urls: Record<string, string> = {}
  const running = new Map<string, ServiceProcess[]>()
  const all = () => [...running.values()].flat()
  // A service that exits from now on (a signal may reach the whole process group) is not started again.
  const holdRestarts = () => all().forEach((p) => p.holdRestarts())
  const stopAll = async () => {
    holdRestarts()
    await Promise.all(all().map((p) => p.stop()))
  }
  try {
    for (const stage of plan.stages) {
      await Promise.all(
        stage.map(async (service) => {
          const env = { ...plan.env, ...urls, DATABASE_URL: plan.databaseOf(service.name) }
          const processes = Array.from({ length: service.instances ?? 1 }, () => new ServiceProcess(plan.script, service.name, env, plan.logger))
          running.set(service.name, processes)
          await Promise.all(processes.map((p) => p.start()))
        }),
      )
      for (const service of stage) if (service.urlVariable) urls[service.urlVariable] = running.get(service.name)![0]!.url
    }
  } catch (error) {
    await stopAll()
    throw error
  }
  const instances = (service: string) => running.get(service)?.map((p) => p.url) ?? []
  const entry = gateway({ routes: plan.routes, instances, logger: plan.logger, ...(plan.pages ? { pages: plan.pages } : {}) })
  const upgrade = gatewayUpgrade({ routes: plan.routes, instances, logger: plan.logger })
  const server = await serveHttp(entry, plan.port, { upgrade, ...(plan.hostname ? { hostname: plan.hostname } : {}) })
  return {
    port: server.port,
    instances: Object.fromEntries([...running].map(([name, processes]) => [name, processes.map((p) => p.url)])),
    async stop() {
      holdRestarts()
      await server.close()
      await stopAll()
    },
  }
}

/**
 * `startCluster` as a program: logs where it listens, and stops every service on SIGINT or SIGTERM — also
 * one that arrives while the cluster is still starting (it stops once started: no service is left alone).
 */
export async function runCluster(plan: ClusterPlan, name: string): Promise<void> {
  const { logger } = plan
  let requestStop = (_signal: string): void => {}
  const stopRequested = new Promise<string>((resolve) => (requestStop = resolve))
  process.once('SIGINT', () => requestStop('SIGINT'))
  process.once('SIGTERM', () => requestStop('SIGTERM'))
  const cluster = await startCluster(plan)
  logger.info({ port: cluster.port, services: cluster.instances }, `${name} listening on http://localhost:${cluster.port}`)
  const signal = await stopRequested
  logger.info({ signal }, `stopping the ${name}`)
  try {
    await cluster.stop()
    process.exit(0)
  } catch (error) {
    logger.error({ err: error }, `the ${name} did not stop cleanly`)
    process.exit(1)
  }
}
