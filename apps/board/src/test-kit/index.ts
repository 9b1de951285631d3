// What tests and benches outside the board use of it: a client of its HTTP API and the shapes it answers with.
// The in-process helpers beside this file (serveBoard, the end-to-end suite, problems) stay the board's own.
export { BoardClient, type Answer, type Member, type PostDocumentBody } from './board-client'
export type { PostDocument, PostList } from '../web/api-types'
