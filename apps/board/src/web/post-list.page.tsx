import type { PostList } from './api-types'
import { Time } from './components'

/** The list of posts, newest first, with a link to the next (older) page. */
export function PostListPage({ list, older }: { list: PostList; older: boolean }) {
  return (
    <>
      <h1>{older ? 'Older posts' : 'Posts'}</h1>
      {list.items.length === 0 ? (
        <p>
          No posts {older ? 'here' : 'yet'}. <a href="/posts/new">Write one</a>.
        </p>
      ) : (
        <ul class="items">
          {list.items.map((post) => (
            <li>
              <a href={`/posts/${post.postId}`}>{post.title}</a>
              <p class="muted">
                by {nicknameOf(post.writer.nickname)} · {commentCount(post.commentCount)} · <Time at={post.createdAt} />
              </p>
            </li>
          ))}
        </ul>
      )}
      {list.nextCursor && (
        <p>
          <a href={`/?before=${encodeURIComponent(list.nextCursor)}`} rel="next">
            Older posts
          </a>
        </p>
      )}
    </>
  )
}

/** A member the read side has not heard of yet has no nickname on it. */
export const nicknameOf = (nickname: string | null): string => nickname ?? 'a member'

export const commentCount = (n: number): string => (n === 1 ? '1 comment' : `${n} comments`)
