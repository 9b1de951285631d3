import { describe, expect, it } from 'vitest'
import { given } from '@tidings/core/testing'
import { addComment, CommentNotFound, deleteComment, editComment, NotCommentAuthor, type Comment } from './comment'

const now = new Date('2026-11-30T10:00:00.000Z')
const later = new Date('2026-11-30T11:00:00.000Z')
const aComment = (change: Partial<Comment> = {}): Comment => ({
  commentId: 'c1',
  postId: 'p1',
  authorId: 'bob',
  content: 'Hi',
  createdAt: now.toISOString(),
  editedAt: null,
  deleted: false,
  version: 1,
  ...change,
})

describe('comment decisions', () => {
  it('a new comment records CommentAdded with its post id, for consumers to route by', () =>
    given({ commentId: 'c1', postId: 'p1', authorId: 'bob', content: 'Hi', now }).when(addComment).thenExpect(({ state, events }) => {
      expect(state).toEqual(aComment())
      expect(events).toEqual([{ type: 'board.CommentAdded.v1', key: 'c1', version: 1, data: { commentId: 'c1', postId: 'p1', version: 1 } }])
    }))

  it('the author edits', () =>
    given(aComment()).when((c) => editComment(c, 'bob', 'Hello', later)).thenExpect(({ state, events }) => {
      expect(state).toEqual(aComment({ content: 'Hello', editedAt: later.toISOString(), version: 2 }))
      expect(events[0]).toMatchObject({ type: 'board.CommentEdited.v1', version: 2 })
    }))

  it('nobody else may edit or delete', () => {
    given(aComment()).when((c) => editComment(c, 'ann', 'x', later)).thenThrows(NotCommentAuthor, 'FORBIDDEN')
    given(aComment()).when((c) => deleteComment(c, 'ann')).thenThrows(NotCommentAuthor, 'FORBIDDEN')
  })

  it('a deleted comment cannot be edited or deleted again', () => {
    given(aComment({ deleted: true })).when((c) => editComment(c, 'bob', 'x', later)).thenThrows(CommentNotFound, 'COMMENT_NOT_FOUND')
    given(aComment({ deleted: true })).when((c) => deleteComment(c, 'bob')).thenThrows(CommentNotFound, 'COMMENT_NOT_FOUND')
  })

  it('deleting records CommentDeleted with the next version', () =>
    given(aComment()).when((c) => deleteComment(c, 'bob')).thenExpect(({ state, events }) => {
      expect(state).toMatchObject({ deleted: true, version: 2 })
      expect(events).toEqual([{ type: 'board.CommentDeleted.v1', key: 'c1', version: 2, data: { commentId: 'c1', postId: 'p1', version: 2 } }])
    }))
})
