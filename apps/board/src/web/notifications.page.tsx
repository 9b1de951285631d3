import type { ApiProblem, NotificationView } from './api-types'
import { Alert, ButtonForm, Time } from './components'
import { nicknameOf } from './post-list.page'

/** The member's notifications, newest first; each unread one can be marked read without JavaScript. */
export function NotificationsPage({ items, problem }: { items: NotificationView[]; problem?: ApiProblem | undefined }) {
  return (
    <>
      <h1>Notifications</h1>
      <Alert problem={problem} />
      {items.length === 0 ? (
        <p>Nothing yet. When someone comments on your posts, you will see it here.</p>
      ) : (
        <ul class="items">
          {items.map((n) => (
            <li>
              <p>
                {!n.read && <strong>New: </strong>}
                <a href={`/posts/${n.postId}#comment-${n.commentId}`}>{notificationText(n)}</a>
              </p>
              <div class="actions">
                <span class="muted">
                  <Time at={n.createdAt} />
                </span>
                {!n.read && <ButtonForm action={`/notifications/${n.notificationId}/read`} label="Mark as read" secondary />}
              </div>
            </li>
          ))}
        </ul>
      )}
    </>
  )
}

/** The same sentence the live script shows (assets/board.js). */
export const notificationText = (n: Pick<NotificationView, 'actor' | 'postTitle'>): string => `${nicknameOf(n.actor.nickname)} commented on ${n.postTitle}`
