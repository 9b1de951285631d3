export { composeBoard, type Board, type BoardOptions } from './board'
export { BoardClient, type Answer, type Member, type PostDocumentBody } from './test-kit/board-client'
