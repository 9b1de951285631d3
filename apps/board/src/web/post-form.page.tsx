import type { ApiProblem } from './api-types'
import { Alert, Field } from './components'

export interface PostFormProps {
  /** Absent for a new post. */
  postId?: string
  values: { title: string; content: string }
  problem?: ApiProblem | string | undefined
}

/** Writing a new post or editing one: the same two fields, posted to different places. */
export function PostFormPage({ postId, values, problem }: PostFormProps) {
  return (
    <>
      <h1>{postId ? 'Edit post' : 'New post'}</h1>
      <form method="post" action={postId ? `/posts/${postId}/edit` : '/posts'}>
        <Alert problem={problem} />
        <Field label="Title" name="title" value={values.title} />
        <Field label="Content" name="content" value={values.content} multiline />
        <button type="submit">{postId ? 'Save changes' : 'Publish'}</button>
      </form>
      {postId && (
        <p>
          <a href={`/posts/${postId}`}>Back to the post</a>
        </p>
      )}
    </>
  )
}
