export { boardServices, composeBoard, type Board, type BoardOptions } from './board'
export { loadTokenSecret } from './auth'
export { memberTokens } from './shared/member-tokens'
export { BoardClient, type Answer, type Member, type PostDocumentBody } from './test-kit/board-client'
