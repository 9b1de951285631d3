import type { ApiProblem } from './api-types'
import { Alert, Field } from './components'

/** Joining the board; the password is never sent back into the page. */
export function SignupPage({ values, problem }: { values: { email: string; nickname: string }; problem?: ApiProblem | string | undefined }) {
  return (
    <>
      <h1>Sign up</h1>
      <form method="post" action="/signup">
        <Alert problem={problem} />
        <Field label="Email" name="email" type="email" value={values.email} autocomplete="email" />
        <Field label="Nickname" name="nickname" value={values.nickname} autocomplete="nickname" />
        <Field label="Password (at least 8 characters)" name="password" type="password" autocomplete="new-password" />
        <button type="submit">Sign up</button>
      </form>
      <p>
        Already a member? <a href="/login">Log in</a>
      </p>
    </>
  )
}
