export { boardServices, composeBoard, type Board, type BoardOptions } from './board'
export { loadTokenSecret } from './auth'
export { boardWeb, type BoardApi, type BoardWebOptions } from './web/board-web.routes'
export { memberTokens } from './shared/member-tokens'
