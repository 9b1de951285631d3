import type { GatewayRoutes } from '@tidings/cluster'

/** Which board service answers each public path, for a gateway in front of the services run as processes. */
export const boardGatewayRoutes: GatewayRoutes = [
  // A post's comments belong to the comment service, the rest of /api/posts to the post service.
  [/^\/api\/posts\/[^/]+\/comments\/?$/, 'board.comment'],
  [/^\/api\/comments(\/|$)/, 'board.comment'],
  [/^\/api\/posts(\/|$)/, 'board.post'],
  [/^\/api\/board(\/|$)/, 'board.query'],
  [/^\/api\/notifications(\/|$)/, 'board.notification'],
]
