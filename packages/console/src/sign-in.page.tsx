import { raw } from 'hono/html'

/**
 * What the console shows before it shows anything else: a form for the operator token, or (with no token
 * configured) how to enable the console. A plain form posted to this origin; no script needed.
 */
export function SignInPage({ styles, enabled, refused }: { styles: string; enabled: boolean; refused?: boolean }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>Tidings console: sign in</title>
        <style>{raw(styles)}</style>
      </head>
      <body>
        <header>
          <h1>Tidings console</h1>
        </header>
        <main>
          {enabled ? (
            <form method="post" action="/console/session" class="inline-form" aria-labelledby="sign-in-title">
              <h2 id="sign-in-title">Sign in</h2>
              <p>The console shows every feed, consumer and dead letter of this deployment: it is for its operators.</p>
              {refused ? (
                <p role="alert" class="error">
                  That is not the operator token.
                </p>
              ) : (
                ''
              )}
              <label for="token">Operator token</label>
              <input type="password" id="token" name="token" autocomplete="current-password" required />
              <button type="submit">Sign in</button>
            </form>
          ) : (
            <section aria-labelledby="disabled-title">
              <h2 id="disabled-title">The console is disabled</h2>
              <p>
                Set <code>TIDINGS_OPERATOR_TOKEN</code> (16 characters or more) and restart to use it; then sign in here with that token.
              </p>
            </section>
          )}
        </main>
      </body>
    </html>
  )
}
