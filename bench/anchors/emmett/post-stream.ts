import { CommandHandler, CommandHandlerStreamVersionConflictRetryOptions, IllegalStateError, isExpectedVersionConflictError, type Event } from '@event-driven-io/emmett'
import { pongoMultiStreamProjection, pongoSingleStreamProjection } from '@event-driven-io/emmett-postgresql'

/**
 * The board's post and its comments written the Emmett way (its docs: "Command Handling", "PostgreSQL Event
 * Store"): one stream per post, events carrying their data, state rebuilt from the stream by `evolve`, a
 * decision that returns the event to append, and Pongo projections for the documents.
 */
export type PostPublished = Event<'PostPublished', { postId: string; authorId: string; title: string; content: string; publishedAt: string }>
export type CommentAdded = Event<'CommentAdded', { commentId: string; postId: string; authorId: string; content: string; addedAt: string }>
export type PostEvent = PostPublished | CommentAdded

export const postStream = (postId: string): string => `post-${postId}`

/** The write side's state: what the decision needs (the post exists), nothing more. */
export interface Post {
  published: boolean
  comments: number
}

export const initialState = (): Post => ({ published: false, comments: 0 })

export function evolve(state: Post, event: PostEvent): Post {
  switch (event.type) {
    case 'PostPublished':
      return { ...state, published: true }
    case 'CommentAdded':
      return { ...state, comments: state.comments + 1 }
  }
}

export function publishPost(command: PostPublished['data'], state: Post): PostPublished {
  if (state.published) throw new IllegalStateError(`Post ${command.postId} is already published`)
  return { type: 'PostPublished', data: command }
}

export function addComment(command: CommentAdded['data'], state: Post): CommentAdded {
  if (!state.published) throw new IllegalStateError(`No post ${command.postId}`)
  return { type: 'CommentAdded', data: command }
}

/** Version conflicts the handler retried (two writers appending to one post at once). */
export const conflicts = { retried: 0 }

/**
 * The command handler, with the retry on version conflicts the docs show (`onVersionConflict: true`, i.e.
 * Emmett's default policy: 3 retries, 100 ms first wait, factor 1.5), counting the conflicts it retries.
 */
export const handle = CommandHandler<Post, PostEvent>({
  evolve,
  initialState,
  retry: {
    ...CommandHandlerStreamVersionConflictRetryOptions,
    shouldRetryError: (error) => {
      const conflict = isExpectedVersionConflictError(error)
      if (conflict) conflicts.retried++
      return conflict
    },
  },
})

/** (Pongo's documents are records: types, not interfaces.) A comment's own document, written in the append's transaction (inline): what the command side keeps of it. */
export type CommentDocument = {
  postId: string
  authorId: string
  content: string
  addedAt: string
}

export const commentsProjection = pongoMultiStreamProjection<CommentDocument, CommentAdded>({
  collectionName: 'comments',
  canHandle: ['CommentAdded'],
  getDocumentId: (event) => event.data.commentId,
  evolve: (_document: CommentDocument | null, { data }: CommentAdded): CommentDocument => ({ postId: data.postId, authorId: data.authorId, content: data.content, addedAt: data.addedAt }),
})

/** The read side's post document with its comments, kept by the asynchronous consumer. */
export type PostDocument = {
  postId: string
  authorId: string
  title: string
  content: string
  publishedAt: string
  commentCount: number
  comments: Array<{ commentId: string; authorId: string; content: string; addedAt: string }>
}

export const POST_DOCUMENTS = 'post_documents'

export const postDocumentProjection = pongoSingleStreamProjection<PostDocument, PostEvent>({
  collectionName: POST_DOCUMENTS,
  canHandle: ['PostPublished', 'CommentAdded'],
  evolve: (document: PostDocument | null, event: PostEvent): PostDocument | null => {
    switch (event.type) {
      case 'PostPublished':
        return { ...event.data, commentCount: 0, comments: [] }
      case 'CommentAdded': {
        if (!document) return null
        const { commentId, authorId, content, addedAt } = event.data
        return { ...document, commentCount: document.commentCount + 1, comments: [...document.comments, { commentId, authorId, content, addedAt }] }
      }
    }
  },
})
