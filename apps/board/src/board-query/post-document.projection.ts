import { consumer, type Envelope } from '@tidings/core'
import type { DocumentStore, MergeChange, Queryable } from '@tidings/postgres'
import { COMMENT_SOURCE, type CommentEvent, type CommentLookup } from '../comment/comment.contracts'
import { MEMBER_SOURCE, type MemberEvent, type MemberLookup } from '../member/member.contracts'
import { POST_SOURCE, type PostEvent, type PostLookup } from '../post/post.contracts'
import { commentField, commentFields, memberField, memberFields, type StoredPostDocument } from './post-document'

export const POST_DOCUMENT_CONSUMER = 'board-query.post-document'

export interface PostDocumentSources {
  posts: PostLookup
  comments: CommentLookup
  members: MemberLookup
}

type BoardEvent = PostEvent | CommentEvent | MemberEvent

/**
 * Zero-payload projection: every event only says which entity changed; the handler fetches that entity's
 * latest state from its owner and writes it under the owner's version, so duplicates, reordering and
 * ten quick edits all end in the command side's latest state.
 *
 * A nickname shows in every document that mentions the member. A handler that copies a nickname into a
 * document and the handler that spreads a nickname change over all documents could otherwise race (the
 * first reads the old name, the second misses the document the first has not committed yet), so both take
 * an advisory lock on the member: shared for copying, exclusive for spreading.
 */
export function postDocumentProjection(documents: DocumentStore<StoredPostDocument>, sources: PostDocumentSources, onChanged: (postIds: string[]) => void = () => {}) {
  // Documents changed by a message, kept until its transaction commits (then the hot copies are evicted).
  const changedBy = new Map<string, string[]>()

  async function nickname(tx: Queryable, memberId: string): Promise<MergeChange<StoredPostDocument> | undefined> {
    await tx.query('SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 0))', [lockKey(memberId)])
    const member = await sources.members(memberId, tx)
    return member && { source: memberField(memberId), version: member.version, set: memberFields(memberId, member.nickname) }
  }

  async function syncPost(tx: Queryable, postId: string): Promise<string[]> {
    const post = await sources.posts(postId, tx)
    if (!post) return []
    if (post.deleted) {
      await documents.remove(tx, postId, { source: 'post', version: post.version })
      return [postId]
    }
    const { title, content, writerId, createdAt, editedAt, version } = post
    const writer = await nickname(tx, writerId)
    await documents.mergeMany(tx, [
      { id: postId, source: 'post', version, set: { post: { title, content, writerId, createdAt, editedAt, version } } },
      ...(writer ? [{ ...writer, id: postId }] : []),
    ])
    return [postId]
  }

  async function syncComment(tx: Queryable, commentId: string): Promise<string[]> {
    const comment = await sources.comments(commentId, tx)
    if (!comment) return []
    const { postId, content, authorId, createdAt, editedAt, deleted, version } = comment
    const field = commentField(commentId)
    const author = deleted ? undefined : await nickname(tx, authorId)
    await documents.mergeMany(tx, [
      { id: postId, source: field, version, set: commentFields(commentId, deleted ? null : { content, authorId, createdAt, editedAt }) },
      ...(author ? [{ ...author, id: postId }] : []),
    ])
    // The post came before its comment: when its own event is behind (another feed), fetch it now, so
    // that whoever reads with this comment's token also sees the post it belongs to.
    if (!(await documents.has(tx, postId, 'post'))) await syncPost(tx, postId)
    return [postId]
  }

  async function spreadNickname(tx: Queryable, memberId: string): Promise<string[]> {
    await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [lockKey(memberId)])
    const member = await sources.members(memberId, tx)
    if (!member) return []
    const field = memberField(memberId)
    const postIds = await documents.idsHaving(tx, field)
    await documents.mergeMany(
      tx,
      postIds.map((id) => ({ id, source: field, version: member.version, set: memberFields(memberId, member.nickname) })),
    )
    return postIds
  }

  async function apply(tx: Queryable, message: BoardEvent): Promise<string[]> {
    switch (message.type) {
      case 'board.PostCreated.v1':
      case 'board.PostEdited.v1':
      case 'board.PostDeleted.v1':
        return syncPost(tx, message.data.postId)
      case 'board.CommentAdded.v1':
      case 'board.CommentEdited.v1':
      case 'board.CommentDeleted.v1':
        return syncComment(tx, message.data.commentId)
      case 'board.MemberNicknameChanged.v1':
        return spreadNickname(tx, message.data.memberId)
      default:
        return [] // MemberJoined: a new member shows in no document yet
    }
  }

  return consumer<Queryable>({
    name: POST_DOCUMENT_CONSUMER,
    follows: [POST_SOURCE, COMMENT_SOURCE, MEMBER_SOURCE],
    async handle(tx, message: Envelope) {
      changedBy.set(message.id, await apply(tx, message as unknown as BoardEvent))
    },
    afterCommit(messages) {
      const postIds = messages.flatMap((m) => {
        const ids = changedBy.get(m.id) ?? []
        changedBy.delete(m.id)
        return ids
      })
      if (postIds.length > 0) onChanged(postIds)
    },
    reset: (tx) => documents.clear(tx),
  })
}

const lockKey = (memberId: string): string => `board-query.member:${memberId}`
