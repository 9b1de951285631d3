/** The board's services, as `npm run start:service` names them. */
export const BOARD_SERVICES = ['board.member', 'board.post', 'board.comment', 'board.query', 'board.notification'] as const
export type BoardServiceName = (typeof BOARD_SERVICES)[number]

const ROUTES: ReadonlyArray<[RegExp, BoardServiceName]> = [
  [/^\/api\/(members|auth)(\/|$)/, 'board.member'],
  // A post's comments belong to the comment service, the rest of /api/posts to the post service.
  [/^\/api\/posts\/[^/]+\/comments\/?$/, 'board.comment'],
  [/^\/api\/comments(\/|$)/, 'board.comment'],
  [/^\/api\/posts(\/|$)/, 'board.post'],
  [/^\/api\/board(\/|$)/, 'board.query'],
  [/^\/api\/notifications(\/|$)/, 'board.notification'],
]

/** Which service answers a public API path; undefined for paths no service serves to the public. */
export function serviceOf(path: string): BoardServiceName | undefined {
  return ROUTES.find(([pattern]) => pattern.test(path))?.[1]
}
