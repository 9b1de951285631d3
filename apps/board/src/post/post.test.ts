import { describe, expect, it } from 'vitest'
import { given } from '@tidings/core/testing'
import { createPost, deletePost, editPost, NotPostWriter, type Post } from './post'
import { PostNotFound } from './post.contracts'

const now = new Date('2026-11-30T10:00:00.000Z')
const later = new Date('2026-11-30T11:00:00.000Z')
const aPost = (change: Partial<Post> = {}): Post => ({
  postId: 'p1',
  writerId: 'ann',
  title: 'Title',
  content: 'Content',
  createdAt: now.toISOString(),
  editedAt: null,
  deleted: false,
  version: 1,
  ...change,
})

describe('post decisions', () => {
  it('a new post is version 1 and records a zero-payload PostCreated', () =>
    given({ postId: 'p1', writerId: 'ann', title: 'Title', content: 'Content', now }).when(createPost).thenExpect(({ state, events }) => {
      expect(state).toEqual(aPost())
      expect(events).toEqual([{ type: 'board.PostCreated.v1', key: 'p1', version: 1, data: { postId: 'p1', version: 1 } }])
    }))

  it('the writer edits: the change, the edit time and the next version', () =>
    given(aPost()).when((p) => editPost(p, 'ann', { title: 'New' }, later)).thenExpect(({ state, events }) => {
      expect(state).toEqual(aPost({ title: 'New', editedAt: later.toISOString(), version: 2 }))
      expect(events).toEqual([{ type: 'board.PostEdited.v1', key: 'p1', version: 2, data: { postId: 'p1', version: 2 } }])
    }))

  it('only the writer may edit', () => given(aPost()).when((p) => editPost(p, 'bob', { title: 'x' }, later)).thenThrows(NotPostWriter, 'FORBIDDEN'))

  it('only the writer may delete', () => given(aPost()).when((p) => deletePost(p, 'bob')).thenThrows(NotPostWriter, 'FORBIDDEN'))

  it('a deleted post is gone for edits and deletes alike', () => {
    given(aPost({ deleted: true, version: 2 })).when((p) => editPost(p, 'ann', { title: 'x' }, later)).thenThrows(PostNotFound, 'POST_NOT_FOUND')
    given(aPost({ deleted: true, version: 2 })).when((p) => deletePost(p, 'ann')).thenThrows(PostNotFound, 'POST_NOT_FOUND')
  })

  it('deleting keeps the row and counts the version on', () =>
    given(aPost({ version: 4 })).when((p) => deletePost(p, 'ann')).thenExpect(({ state, events }) => {
      expect(state).toMatchObject({ deleted: true, version: 5 })
      expect(events).toEqual([{ type: 'board.PostDeleted.v1', key: 'p1', version: 5, data: { postId: 'p1', version: 5 } }])
    }))
})
