// Live notifications for a signed-in member. The pages work without this script; it only keeps the unread
// badge current and says when someone comments, over the server's event stream (the session cookie goes
// along; the token itself never reaches this script).
const badge = document.querySelector('[data-unread-count]')
const toast = document.querySelector('[data-notification-toast]')

function showUnread(count) {
  if (!badge || !Number.isFinite(count)) return
  badge.dataset.unreadCount = String(count)
  badge.textContent = String(count)
}

if (badge && typeof EventSource === 'function') {
  const events = new EventSource('/notifications/stream')
  // Sent on every (re)connection, so a count missed while disconnected is corrected, never added twice.
  events.addEventListener('ready', (event) => showUnread(JSON.parse(event.data).unread))
  events.addEventListener('notification', (event) => {
    const notification = JSON.parse(event.data)
    showUnread(Number(badge.dataset.unreadCount) + 1)
    // textContent, never innerHTML: nicknames and titles are other people's text.
    if (toast) toast.textContent = `${notification.actor?.nickname ?? 'A member'} commented on ${notification.postTitle}`
  })
  // A stream refused for good (signed out elsewhere) closes itself; a dropped one reconnects by itself.
}
