import { describe, expect, it } from 'vitest'
import { commentFields, memberFields, renderListItem, renderPostDocument, type StoredPostDocument } from './post-document'

const post = { title: 'T', content: 'C', writerId: 'ann', createdAt: '2026-11-30T10:00:00.000Z', editedAt: null, version: 3 }
const stored: StoredPostDocument = {
  post,
  ...memberFields('ann', 'Ann'),
  ...memberFields('bob', 'Bob'),
  ...commentFields('c2', { content: 'second', authorId: 'ann', createdAt: '2026-11-30T10:02:00.000Z', editedAt: null }),
  ...commentFields('c1', { content: 'first', authorId: 'bob', createdAt: '2026-11-30T10:01:00.000Z', editedAt: '2026-11-30T10:03:00.000Z' }),
  ...commentFields('c3', null),
}

describe('rendering a post document', () => {
  it('orders comments by time, names every member and counts only live comments', () =>
    expect(renderPostDocument('p1', stored)).toEqual({
      postId: 'p1',
      title: 'T',
      content: 'C',
      writer: { memberId: 'ann', nickname: 'Ann' },
      comments: [
        { commentId: 'c1', content: 'first', author: { memberId: 'bob', nickname: 'Bob' }, createdAt: '2026-11-30T10:01:00.000Z', editedAt: '2026-11-30T10:03:00.000Z' },
        { commentId: 'c2', content: 'second', author: { memberId: 'ann', nickname: 'Ann' }, createdAt: '2026-11-30T10:02:00.000Z', editedAt: null },
      ],
      commentCount: 2,
      createdAt: '2026-11-30T10:00:00.000Z',
      editedAt: null,
      version: 3,
    }))

  it('is not there until the post itself has arrived (comments may come first)', () => {
    const early = commentFields('c1', { content: 'early', authorId: 'bob', createdAt: '2026-11-30T10:01:00.000Z', editedAt: null }) as StoredPostDocument
    expect(renderPostDocument('p1', early)).toBeUndefined()
    expect(renderListItem('p1', early)).toBeUndefined()
  })

  it('lists a post with its writer and comment count', () =>
    expect(renderListItem('p1', stored)).toEqual({ postId: 'p1', title: 'T', writer: { memberId: 'ann', nickname: 'Ann' }, commentCount: 2, createdAt: '2026-11-30T10:00:00.000Z' }))

  it('shows an unknown nickname as null rather than failing', () =>
    expect(renderPostDocument('p1', { post })?.writer).toEqual({ memberId: 'ann', nickname: null }))
})
