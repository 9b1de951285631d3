import type { ApiProblem, PostComment, PostDocument } from './api-types'
import { Alert, ButtonForm, Field, Time } from './components'
import type { Viewer } from './layout'
import { commentCount, nicknameOf } from './post-list.page'
import { loginPath } from './safe-next'

/** Why a form on the post page was refused, and what the member had typed (shown back to them). */
export interface PostPageErrors {
  post?: ApiProblem | string
  newComment?: { problem: ApiProblem | string; content: string }
  comment?: { commentId: string; problem: ApiProblem | string; content?: string }
}

/** A post with its comments. Edit and delete controls only for their writers; the API enforces that anyway. */
export function PostPage({ post, viewer, errors = {} }: { post: PostDocument; viewer: Viewer | undefined; errors?: PostPageErrors }) {
  const path = `/posts/${post.postId}`
  return (
    <>
      <article>
        <h1>{post.title}</h1>
        <p class="muted">
          by {nicknameOf(post.writer.nickname)} · <Time at={post.createdAt} />
          {post.editedAt && (
            <>
              {' '}
              · edited <Time at={post.editedAt} />
            </>
          )}
        </p>
        <Alert problem={errors.post} />
        {viewer?.memberId === post.writer.memberId && (
          <div class="actions">
            <a href={`${path}/edit`}>Edit post</a>
            <ButtonForm action={`${path}/delete`} label="Delete post" secondary />
          </div>
        )}
        <div class="content">{post.content}</div>
      </article>
      <section aria-labelledby="comments">
        <h2 id="comments">{commentCount(post.commentCount)}</h2>
        <ul class="items">
          {post.comments.map((comment) => (
            <CommentItem comment={comment} postId={post.postId} mine={viewer?.memberId === comment.author.memberId} error={errors.comment?.commentId === comment.commentId ? errors.comment : undefined} />
          ))}
        </ul>
        {viewer ? (
          <form method="post" action={`${path}/comments`}>
            <Alert problem={errors.newComment?.problem} />
            <Field label="Your comment" name="content" value={errors.newComment?.content ?? ''} multiline />
            <button type="submit">Add comment</button>
          </form>
        ) : (
          <p>
            <a href={loginPath(path)}>Log in</a> to comment.
          </p>
        )}
      </section>
    </>
  )
}

function CommentItem({ comment, postId, mine, error }: { comment: PostComment; postId: string; mine: boolean; error: PostPageErrors['comment'] }) {
  const hidden = { postId }
  return (
    <li id={`comment-${comment.commentId}`}>
      <p class="muted">
        <strong>{nicknameOf(comment.author.nickname)}</strong> · <Time at={comment.createdAt} />
        {comment.editedAt && ' · edited'}
      </p>
      <div class="content">{comment.content}</div>
      {/* A refused edit or delete of this comment is shown here, beside the form it came from. */}
      {error && error.content === undefined && <Alert problem={error.problem} />}
      {mine && (
        <div class="actions">
          <details open={error?.content !== undefined}>
            <summary>Edit comment</summary>
            <form method="post" action={`/comments/${comment.commentId}/edit`}>
              <input type="hidden" name="postId" value={postId} />
              {error?.content !== undefined && <Alert problem={error.problem} />}
              <Field label="Edit your comment" name="content" id={`content-${comment.commentId}`} value={error?.content ?? comment.content} multiline />
              <button type="submit">Save comment</button>
            </form>
          </details>
          <ButtonForm action={`/comments/${comment.commentId}/delete`} label="Delete comment" hidden={hidden} secondary />
        </div>
      )}
    </li>
  )
}
