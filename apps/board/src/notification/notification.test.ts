import { describe, expect, it } from 'vitest'
import type { CommentState } from '../comment/comment.contracts'
import type { PostState } from '../post/post.contracts'
import { notificationFor } from './notification'

const now = new Date('2026-11-30T10:00:00.000Z')
const post: PostState = { postId: 'p1', writerId: 'ann', title: 'Hello', content: '…', createdAt: now.toISOString(), editedAt: null, deleted: false, version: 1 }
const comment: CommentState = { commentId: 'c1', postId: 'p1', authorId: 'bob', content: 'Hi', createdAt: now.toISOString(), editedAt: null, deleted: false, version: 1 }
const input = { notificationId: 'n1', now }

describe('who hears of a comment', () => {
  it("the post's writer, of a comment by someone else", () =>
    expect(notificationFor(comment, post, { memberId: 'bob', nickname: 'Bob', version: 3 }, input)).toEqual({
      notificationId: 'n1',
      recipientId: 'ann',
      kind: 'comment',
      postId: 'p1',
      postTitle: 'Hello',
      commentId: 'c1',
      actor: { memberId: 'bob', nickname: 'Bob' },
      createdAt: now.toISOString(),
      read: false,
    }))

  it('nobody, of their own comment', () => expect(notificationFor({ ...comment, authorId: 'ann' }, post, undefined, input)).toBeUndefined())

  it('nobody, when the comment or the post is gone', () => {
    expect(notificationFor({ ...comment, deleted: true }, post, undefined, input)).toBeUndefined()
    expect(notificationFor(comment, { ...post, deleted: true }, undefined, input)).toBeUndefined()
    expect(notificationFor(comment, undefined, undefined, input)).toBeUndefined()
  })
})
