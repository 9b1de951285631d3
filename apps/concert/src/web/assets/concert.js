// Live parts of the concert pages. The pages work without this script (reloading one shows the same); it
// keeps the member's place in the queue and a performance's seat map current. Text goes in with
// textContent only, never as markup.

/** How often the fallback and the seat map ask again. */
const POLL_MS = 2000
const FINAL = ['EXPIRED', 'COMPLETED']
/** How the queue's WebSocket says that it knows no such token (its 404). */
const UNKNOWN_TOKEN_CLOSE = 4404

const queue = document.querySelector('[data-queue-token]')
if (queue) followQueue(queue)
const seatMap = document.querySelector('[data-seats-url]')
if (seatMap) followSeats(seatMap)

/** Only a change is written: a live region announces every write, and the same words twice are noise. */
function say(element, text) {
  if (element && element.textContent !== text) element.textContent = text
}

/** A problem in words in a role=alert element, boxed like the pages' alerts; '' clears it. */
function alarm(element, text) {
  say(element, text)
  element?.classList.toggle('alert', text !== '')
}

/**
 * The queue page: the waiting room reports each change of the token's status. Over a WebSocket where the
 * server has one, else its event stream, else by asking every two seconds; a transport that ends before it
 * said anything is not tried again, one that worked is reopened (the server restarted, the network blinked).
 */
function followQueue(root) {
  const token = root.dataset.queueToken
  const problem = root.querySelector('[data-queue-problem]')
  const base = `/api/queue/${encodeURIComponent(token)}`
  let ended = false

  const show = (view) => {
    if (!view || typeof view.status !== 'string') return
    alarm(problem, '')
    const state = view.status === 'WAITING' && view.position === null ? 'PRESALE' : view.status
    for (const element of root.querySelectorAll('[data-when]')) {
      const hidden = !element.dataset.when.split(' ').includes(state)
      if (element.hidden !== hidden) element.hidden = hidden
    }
    field('position', view.position === null ? '' : String(view.position))
    field('wait', waitText(view.estimatedWaitSeconds))
    field('activeUntil', view.activeUntil ? formatTime(view.activeUntil) : '')
    if (FINAL.includes(view.status)) ended = true
  }
  const field = (name, text) => say(root.querySelector(`[data-field="${name}"]`), text)
  const forgotten = () => {
    ended = true
    alarm(problem, 'Your place in the queue is no longer known. Please join the queue again.')
  }
  const parse = (text) => {
    try {
      return JSON.parse(text)
    } catch {
      return undefined
    }
  }

  const viaSocket = (done) => {
    if (typeof WebSocket !== 'function') return done(false)
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:'
    const socket = new WebSocket(`${scheme}//${location.host}${base}/ws`)
    let heard = false
    socket.addEventListener('message', (event) => {
      heard = true
      show(parse(event.data))
    })
    socket.addEventListener('close', (event) => {
      // The room does not know the token (any more): no other way of asking will change that.
      if (event.code === UNKNOWN_TOKEN_CLOSE) return forgotten()
      done(heard)
    })
  }

  const viaEvents = (done) => {
    if (typeof EventSource !== 'function') return done(false)
    const events = new EventSource(`${base}/events`)
    let heard = false
    events.addEventListener('status', (event) => {
      heard = true
      show(parse(event.data))
    })
    // EventSource would reconnect on its own, also after the server closed on a final status: we decide.
    events.addEventListener('error', () => {
      events.close()
      done(heard)
    })
  }

  const viaPolling = () => {
    const poll = async () => {
      try {
        const response = await fetch(base, { headers: { Accept: 'application/json' }, cache: 'no-store' })
        if (response.status === 404) return forgotten()
        if (!response.ok) throw new Error(String(response.status))
        show(await response.json())
      } catch {
        alarm(problem, 'The connection to the queue was lost. Trying again…')
      }
      if (!ended) setTimeout(poll, POLL_MS)
    }
    void poll()
  }

  const transports = [viaSocket, viaEvents, viaPolling]
  const start = (i) =>
    transports[i]((heard) => {
      if (ended) return
      setTimeout(() => start(heard ? i : i + 1), heard ? POLL_MS : 0)
    })
  start(0)
}

/** The same words as the page's (concert-words.ts). */
function waitText(seconds) {
  if (seconds === null || seconds === undefined) return 'The wait cannot be estimated yet.'
  if (seconds < 60) return 'Less than a minute to go.'
  const minutes = Math.ceil(seconds / 60)
  return `About ${minutes} ${minutes === 1 ? 'minute' : 'minutes'} to go.`
}

/** As the pages show times: the same for every reader, in UTC. */
function formatTime(iso) {
  const date = new Date(iso)
  return Number.isNaN(date.getTime()) ? iso : `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`
}

/**
 * The seat map: the seats are asked for every two seconds while the page is in view, and each button
 * follows its seat (taken: disabled, struck through, "taken" to a screen reader).
 */
function followSeats(form) {
  const problem = document.querySelector('[data-seats-problem]')
  const free = document.querySelector('[data-seats-free]')

  const show = (seats) => {
    for (const seat of seats) {
      const button = form.querySelector(`[data-seat="${seat.seatNo}"]`)
      if (!button) continue
      const taken = seat.status !== 'AVAILABLE'
      if (button.disabled === taken) continue
      // A keyboard user on a seat someone else just took stays in the map: on the count of free seats.
      if (taken && document.activeElement === button) free?.focus()
      button.disabled = taken
      button.classList.toggle('secondary', taken)
      button.style.textDecoration = taken ? 'line-through' : ''
      const note = button.querySelector('[data-taken]')
      if (note) note.hidden = !taken
    }
    const count = seats.filter((seat) => seat.status === 'AVAILABLE').length
    say(free, `${count} of ${seats.length} seats free`)
  }

  const poll = async () => {
    if (document.visibilityState === 'visible') {
      try {
        const response = await fetch(form.dataset.seatsUrl, { headers: { Accept: 'application/json' }, cache: 'no-store' })
        const body = await response.json()
        if (!response.ok) {
          alarm(problem, typeof body.detail === 'string' ? body.detail : 'The seats could not be brought up to date.')
          // The turn ended or the session did: asking again would not change that.
          if (response.status === 401 || response.status === 403) return
        } else {
          alarm(problem, '')
          show(body.seats)
        }
      } catch {
        alarm(problem, 'The seats could not be brought up to date. Trying again…')
      }
    }
    setTimeout(poll, POLL_MS)
  }
  setTimeout(poll, POLL_MS)
}
