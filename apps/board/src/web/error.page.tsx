/** A page that could not be shown, or a request that was refused: a heading, one sentence, a way home. */
export function ErrorPage({ heading, message }: { heading: string; message: string }) {
  return (
    <>
      <h1>{heading}</h1>
      <p role="alert">{message}</p>
      <p>
        <a href="/">Back to the posts</a>
      </p>
    </>
  )
}

/** Headings for the statuses the pages answer with; anything else is described by its number. */
export function headingOf(status: number): string {
  return HEADINGS[status] ?? (status >= 500 ? 'Something went wrong' : 'The request was refused')
}

const HEADINGS: Readonly<Record<number, string>> = {
  400: 'That did not work',
  401: 'Please log in',
  403: 'Not allowed',
  404: 'Not found',
  409: 'That clashes with something',
  413: 'Too large',
  500: 'Something went wrong',
  503: 'Please try again',
}
