// What tests and benches outside the board use of it: a client of its HTTP API and the shapes it answers with.
// The end-to-end suite runs against any board URL (in process, or a cluster's gateway); the in-process
// helpers beside this file (serveBoard, problems) stay the board's own.
export { BoardClient, type Answer, type Member, type PostDocumentBody } from './board-client'
export type { PostDocument, PostList } from '../web/api-types'
export { boardEndToEnd } from './board-end-to-end'
