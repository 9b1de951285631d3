import type { ApiProblem } from './api-types'
import { Alert, Field } from './components'

/** Logging in, then going on to `next` (already checked to be a path on this site). */
export function LoginPage({ email, next, problem }: { email: string; next: string; problem?: ApiProblem | string | undefined }) {
  return (
    <>
      <h1>Log in</h1>
      {next !== '/' && !problem && <p>Please log in to continue.</p>}
      <form method="post" action="/login">
        <Alert problem={problem} />
        <input type="hidden" name="next" value={next} />
        <Field label="Email" name="email" type="email" value={email} autocomplete="email" />
        <Field label="Password" name="password" type="password" autocomplete="current-password" />
        <button type="submit">Log in</button>
      </form>
      <p>
        New here? <a href="/signup">Sign up</a>
      </p>
    </>
  )
}
