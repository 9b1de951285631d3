// Services as processes of their own: started, kept running, stopped.
export { ServiceProcess } from './service-process'
export { runCluster, startCluster } from './cluster'
export type { ClusterPlan, ClusterService, RunningCluster } from './cluster'

// The one entry point in front of them.
export { gateway } from './gateway'
export { gatewayUpgrade } from './gateway-upgrade'
export type { GatewayApi, GatewayOptions, GatewayRoutes } from './gateway'
