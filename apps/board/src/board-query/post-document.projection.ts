import { consumer, type Documents, type Envelope, type MergeChange } from '@tidings/core'
import type { Queryable } from '@tidings/postgres'
import { COMMENT_SOURCE, type CommentEvent, type CommentLookup, type CommentsLookup, type CommentState } from '../comment/comment.contracts'
import { MEMBER_SOURCE, type MemberEvent, type MemberLookup, type MembersLookup, type MemberState } from '@tidings/identity'
import { POST_SOURCE, type PostEvent, type PostLookup } from '../post/post.contracts'
import { commentField, commentFields, memberField, memberFields, type StoredPostDocument } from './post-document'

export const POST_DOCUMENT_CONSUMER = 'board-query.post-document'

/**
 * The post documents as seen from a transaction of the read side's database: rows in that transaction
 * (`DocumentStore.on(tx)`), or a store outside it (Redis) whatever the transaction. Every write is
 * version-guarded, so a page applied again after a crash between a Redis write and the commit changes
 * nothing.
 */
export type PostDocumentsOn = (via: Queryable) => Documents<StoredPostDocument>

export interface PostDocumentSources {
  posts: PostLookup
  comments: CommentLookup
  members: MemberLookup
  /** Batch lookups, when the owners offer them (in process): a page of comment events in a few statements. */
  commentsMany?: CommentsLookup
  membersMany?: MembersLookup
}

const COMMENT_EVENTS = new Set(['board.CommentAdded.v1', 'board.CommentEdited.v1', 'board.CommentDeleted.v1'])

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
export function postDocumentProjection(
  documents: PostDocumentsOn,
  sources: PostDocumentSources,
  onChanged: (postIds: string[]) => void = () => {},
  /** After a rebuild cleared every document: drop every cached copy. */
  onCleared: () => void = () => {},
) {
  // Documents changed by a message, kept until its transaction commits (then the hot copies are evicted).
  const changedBy = new Map<string, string[]>()

  /** The member's latest state, locked (shared) against a nickname change being spread meanwhile. */
  async function lockedMember(tx: Queryable, memberId: string): Promise<MemberState | undefined> {
    await tx.query('SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 0))', [lockKey(memberId)])
    return sources.members(memberId, tx)
  }

  async function syncPost(tx: Queryable, postId: string): Promise<string[]> {
    const post = await sources.posts(postId, tx)
    if (!post) return []
    if (post.deleted) {
      await documents(tx).remove(postId, { source: 'post', version: post.version })
      return [postId]
    }
    const { title, content, writerId, createdAt, editedAt, version } = post
    const writer = await lockedMember(tx, writerId)
    await documents(tx).mergeMany([
      { id: postId, source: 'post', version, set: { post: { title, content, writerId, createdAt, editedAt, version } } },
      ...(writer ? [nicknameChange(postId, writer)] : []),
    ])
    return [postId]
  }

  const commentChange = ({ commentId, postId, content, authorId, createdAt, editedAt, deleted, version }: CommentState) => ({
    id: postId,
    source: commentField(commentId),
    version,
    set: commentFields(commentId, deleted ? null : { content, authorId, createdAt, editedAt }),
  })

  async function syncComment(tx: Queryable, commentId: string): Promise<string[]> {
    const comment = await sources.comments(commentId, tx)
    if (!comment) return []
    const author = comment.deleted ? undefined : await lockedMember(tx, comment.authorId)
    await documents(tx).mergeMany([commentChange(comment), ...(author ? [nicknameChange(comment.postId, author)] : [])])
    await syncMissingPosts(tx, [comment.postId])
    return [comment.postId]
  }

  /**
   * A post comes before its comments: when its own event is behind (another feed), fetch it now, so that
   * whoever reads with a comment's token also sees the post it belongs to.
   */
  async function syncMissingPosts(tx: Queryable, postIds: string[]): Promise<void> {
    for (const postId of await documents(tx).lacking(postIds, 'post')) await syncPost(tx, postId)
  }

  /** The same as `syncComment` for each, in a few statements: batch lookups, one lock statement, one merge. */
  async function syncComments(tx: Queryable, commentIds: string[], commentsMany: CommentsLookup, membersMany: MembersLookup): Promise<Map<string, string>> {
    const comments = await commentsMany([...new Set(commentIds)], tx)
    const authorIds = [...new Set(comments.filter((c) => !c.deleted).map((c) => c.authorId))].sort()
    // In one order for every transaction, so that two pages taking several locks cannot deadlock each other.
    await tx.query('SELECT pg_advisory_xact_lock_shared(hashtextextended(k, 0)) FROM unnest($1::text[]) AS k', [authorIds.map(lockKey)])
    const authors = new Map((await membersMany(authorIds, tx)).map((m) => [m.memberId, m]))
    // Asked before the page writes (a comment's change adds no post): its transaction takes an id at its first
    // write, and holds back every feed from then until it commits.
    const missingPosts = await documents(tx).lacking([...new Set(comments.map((c) => c.postId))], 'post')
    await documents(tx).mergeMany(
      comments.flatMap((c) => {
        const author = c.deleted ? undefined : authors.get(c.authorId)
        return [commentChange(c), ...(author ? [nicknameChange(c.postId, author)] : [])]
      }),
    )
    for (const postId of missingPosts) await syncPost(tx, postId)
    return new Map(comments.map((c) => [c.commentId, c.postId]))
  }

  async function spreadNickname(tx: Queryable, memberId: string): Promise<string[]> {
    await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [lockKey(memberId)])
    const member = await sources.members(memberId, tx)
    if (!member) return []
    const postIds = await documents(tx).idsHaving(memberField(memberId))
    await documents(tx).mergeMany(postIds.map((id) => nicknameChange(id, member)))
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
      case 'identity.MemberNicknameChanged.v1':
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
    async handleBatch(tx, messages: Envelope[]) {
      const { commentsMany, membersMany } = sources
      if (!commentsMany || !membersMany || !messages.every((m) => COMMENT_EVENTS.has(m.type))) {
        for (const message of messages) changedBy.set(message.id, await apply(tx, message as unknown as BoardEvent))
        return
      }
      const commentIdOf = (m: Envelope) => (m as unknown as CommentEvent).data.commentId
      const postOf = await syncComments(tx, messages.map(commentIdOf), commentsMany, membersMany)
      for (const message of messages) {
        const postId = postOf.get(commentIdOf(message))
        changedBy.set(message.id, postId ? [postId] : [])
      }
    },
    afterCommit(messages) {
      const postIds = messages.flatMap((m) => {
        const ids = changedBy.get(m.id) ?? []
        changedBy.delete(m.id)
        return ids
      })
      if (postIds.length > 0) onChanged(postIds)
    },
    reset: (tx) => documents(tx).clear(),
    afterReset: onCleared,
    // Comments of one post come from several partitions: pages touching the same documents take turns.
    lockKeys: (messages) => messages.flatMap((m) => {
      const postId = (m.data as { postId?: unknown } | null)?.postId
      return typeof postId === 'string' ? [documentLockKey(postId)] : []
    }),
  })
}

const documentLockKey = (postId: string): string => `board-query.document:${postId}`

const lockKey = (memberId: string): string => `board-query.member:${memberId}`

/** A member's nickname in one document, owned by that member's source and guarded by its version. */
const nicknameChange = (postId: string, member: MemberState): MergeChange<StoredPostDocument> & { id: string } => ({
  id: postId,
  source: memberField(member.memberId),
  version: member.version,
  set: memberFields(member.memberId, member.nickname),
})
