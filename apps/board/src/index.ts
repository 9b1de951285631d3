export { boardServices, composeBoard, type Board, type BoardOptions } from './board'
export { boardWeb, consoleLogger, type BoardApi, type BoardWebOptions } from './web/board-web.routes'
export { GuestPages } from './web/guest-pages'
export { guestPagesFastPath, type CurrentAnswers } from './web/guest-pages.fast-path'

// The pages' building blocks, for other apps' pages (the concert system's) to look, sign in and fail alike.
export type { ApiProblem } from './web/api-types'
export { Alert, ButtonForm, Field, formatTime, Time } from './web/components'
export { ErrorPage, headingOf } from './web/error.page'
export { formFields, INVALID_FORM } from './web/form-fields'
export { formGuard } from './web/form-guard'
export { isId } from './web/post-pages.routes'
export { loginPath } from './web/safe-next'
export { sessionCookies } from './web/session-cookies'
export { WebApi } from './web/web-api'
export { webErrors } from './web/web-errors'
export { webOf, type WebDeps, type WebRequest } from './web/web-request'

// The services as processes of their own, behind a gateway.
export { BOARD_COMMENT_URL, BOARD_POST_URL, boardProcesses } from './board.processes'
export { boardGatewayRoutes } from './board.gateway-routes'

// Its names, as operators and the tests of its processes see them: feeds, schemas, consumers.
export { POST_SOURCE } from './post/post.contracts'
export { COMMENT_SOURCE } from './comment/comment.contracts'
export { BOARD_QUERY_SCHEMA, POST_DOCUMENTS_COLLECTION } from './board-query/board-query.service'
export { POST_DOCUMENT_CONSUMER } from './board-query/post-document.projection'
export { COMMENT_SCHEMA } from './comment/comment.service'
export { NOTIFICATION_SCHEMA } from './notification/notification.service'
export { COMMENT_NOTIFICATIONS_CONSUMER } from './notification/comment-notifications.projection'
