import type { Child } from 'hono/jsx'
import { raw } from 'hono/html'
import { STYLES } from './styles'

/** The signed-in member as the pages show them. */
export interface Viewer {
  memberId: string
  nickname: string
  unread: number
}

/** The nav entry a page belongs to, marked `aria-current="page"`. */
export type Section = 'home' | 'new' | 'concerts' | 'notifications' | 'login' | 'signup'

export interface LayoutProps {
  title: string
  viewer?: Viewer | undefined
  section?: Section | undefined
  children?: Child
}

const current = (section: Section | undefined, mine: Section) => (section === mine ? 'page' : undefined)

/** Every page: a header with the site name and nav, then `<main>`. The live script only when there is something to listen for. */
export function Layout({ title, viewer, section, children }: LayoutProps) {
  return (
    <>
      {raw('<!DOCTYPE html>')}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title>{`${title} · Tidings board`}</title>
          <style>{raw(STYLES)}</style>
          {viewer && <script type="module" src="/assets/board.js"></script>}
        </head>
        <body>
          <header>
            <a class="site" href="/" aria-current={current(section, 'home')}>
              Tidings board
            </a>
            <nav aria-label="Main">
              <ul>
                <li>
                  <a href="/posts/new" aria-current={current(section, 'new')}>
                    New post
                  </a>
                </li>
                <li>
                  <a href="/concerts" aria-current={current(section, 'concerts')}>
                    Concerts
                  </a>
                </li>
                {viewer ? <MemberNav viewer={viewer} section={section} /> : <GuestNav section={section} />}
              </ul>
            </nav>
          </header>
          <main>{children}</main>
          {viewer && <p class="toast" role="status" aria-live="polite" data-notification-toast=""></p>}
        </body>
      </html>
    </>
  )
}

function MemberNav({ viewer, section }: { viewer: Viewer; section: Section | undefined }) {
  return (
    <>
      <li>
        <a href="/notifications" aria-current={current(section, 'notifications')}>
          Notifications
          {/* Space reserved (min-width, tabular digits) so a new count does not shift the nav; announced politely. */}
          <span class="badge" aria-live="polite" data-unread-count={String(viewer.unread)}>
            {String(viewer.unread)}
          </span>
          <span class="sr-only"> unread</span>
        </a>
      </li>
      <li class="muted">{viewer.nickname}</li>
      <li>
        <form method="post" action="/logout">
          <button type="submit" class="secondary">
            Log out
          </button>
        </form>
      </li>
    </>
  )
}

function GuestNav({ section }: { section: Section | undefined }) {
  return (
    <>
      <li>
        <a href="/login" aria-current={current(section, 'login')}>
          Log in
        </a>
      </li>
      <li>
        <a href="/signup" aria-current={current(section, 'signup')}>
          Sign up
        </a>
      </li>
    </>
  )
}
