// The console's behaviour: refresh the overview, run operator actions, show the live event stream.
// Plain module, no build step; everything user- or event-provided is set as text, never as HTML.

const REFRESH_MS = 2000
const MAX_EVENT_ROWS = 200
const TOKEN_KEY = 'tidings.operatorToken'

const overview = document.getElementById('overview')
const actionStatus = document.getElementById('action-status')
const tokenInput = document.getElementById('operator-token')

if (tokenInput) {
  tokenInput.value = sessionStorage.getItem(TOKEN_KEY) ?? ''
  tokenInput.addEventListener('input', () => sessionStorage.setItem(TOKEN_KEY, tokenInput.value))
}

/** Replaces the overview with a fresh fragment, unless the operator is using a control inside it. */
async function refresh() {
  if (!overview || document.hidden || overview.contains(document.activeElement)) return
  try {
    const response = await fetch(overview.dataset.refresh, { headers: { Accept: 'text/html' } })
    if (response.ok) overview.innerHTML = await response.text()
  } catch {
    // The server restarting: the next tick tries again.
  }
}
setInterval(refresh, REFRESH_MS)

async function act(path, done) {
  actionStatus.textContent = 'Working…'
  try {
    const response = await fetch(path, { method: 'POST', headers: { Authorization: `Bearer ${tokenInput?.value ?? ''}` } })
    const body = await response.json().catch(() => ({}))
    actionStatus.textContent = response.ok ? done : `${body.code ?? response.status}: ${body.detail ?? 'failed'}`
  } catch (error) {
    actionStatus.textContent = `Failed: ${error.message}`
  }
  document.activeElement?.blur()
  await refresh()
}

document.addEventListener('click', (event) => {
  const button = event.target.closest('button[data-action]')
  if (!button) return
  const { action, schema, id, name } = button.dataset
  if (action === 'replay') void act(`/console/api/dead-letters/${encodeURIComponent(schema)}/${encodeURIComponent(id)}/replay`, `Dead letter ${id} replayed.`)
  if (action === 'retry-saga') void act(`/console/api/sagas/${encodeURIComponent(id)}/retry`, `Saga ${id} is compensating again.`)
  if (action === 'reset' && confirm(`Rebuild ${name} from the start of its feeds?`)) void act(`/console/api/subscriptions/${encodeURIComponent(name)}/reset`, `${name} is rebuilding.`)
})

// Live events
const filterForm = document.getElementById('event-filter')
const watchButton = document.getElementById('watch')
const eventsStatus = document.getElementById('events-status')
const eventRows = document.getElementById('events')
let stream

function stopWatching(message) {
  stream?.close()
  stream = undefined
  watchButton.textContent = 'Watch'
  eventsStatus.textContent = message
}

function cell(row, text) {
  const td = document.createElement('td')
  td.textContent = text
  row.append(td)
}

filterForm?.addEventListener('submit', (event) => {
  event.preventDefault()
  if (stream) return stopWatching('Stopped.')
  const query = new URLSearchParams([...new FormData(filterForm)].filter(([, value]) => value !== ''))
  eventRows.replaceChildren()
  stream = new EventSource(`/console/api/events?${query}`)
  watchButton.textContent = 'Stop'
  eventsStatus.textContent = 'Connecting…'
  stream.addEventListener('ready', () => (eventsStatus.textContent = 'Watching: new events appear at the top.'))
  stream.addEventListener('event', (message) => {
    const e = JSON.parse(message.data)
    const row = document.createElement('tr')
    row.dataset.eventType = e.type
    row.title = e.data
    for (const text of [e.occurredAt.slice(11, 23), e.source, e.type, e.key, e.version ?? '—', e.position ?? '—']) cell(row, String(text))
    eventRows.prepend(row)
    while (eventRows.children.length > MAX_EVENT_ROWS) eventRows.lastElementChild.remove()
  })
  stream.addEventListener('error', () => {
    if (stream?.readyState === EventSource.CLOSED) stopWatching('The stream was refused (check the filter).')
    else eventsStatus.textContent = 'Reconnecting…'
  })
})
