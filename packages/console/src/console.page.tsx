import { raw } from 'hono/html'
import type { ConsoleExplorer } from './explorer'
import { ExplorerView, type ExplorerOutcome } from './explorer.view'
import type { Overview } from './operations'
import { OverviewView, type ActionsState } from './overview.view'
import { SagaHistoryView } from './sagas.view'

export interface ConsolePageProps {
  overview: Overview
  actions: ActionsState
  explorers: readonly ConsoleExplorer[]
  /** The search of the explorer named in the query, if any. */
  searched?: { explorer: string; outcome: ExplorerOutcome } | undefined
  /** The saga asked for (`?saga=<id>`), with its history; undefined when there is no such saga. */
  saga?: { id: string; found: Parameters<typeof SagaHistoryView>[0]['found'] } | undefined
  styles: string
}

/**
 * The operations console. The first paint carries the data (no loading state to shift the layout); the
 * script refreshes the overview, runs the actions and shows the live event stream.
 */
export function ConsolePage({ overview, actions, explorers, searched, saga, styles }: ConsolePageProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>Tidings console</title>
        <style>{raw(styles)}</style>
        <script type="module" src="/console/assets/console.js"></script>
      </head>
      <body>
        <header>
          <h1>Tidings console</h1>
          <form method="post" action="/console/session/end" class="inline-form">
            <button type="submit">Sign out</button>
          </form>
          <nav aria-label="Sections">
            <a href="#feeds-title">Feeds</a>
            <a href="#subscriptions-title">Subscriptions</a>
            <a href="#dead-letters-title">Dead letters</a>
            <a href="#sagas-title">Sagas</a>
            <a href="#live-title">Live events</a>
            {explorers.map((e) => (
              <a href={`#explorer-${e.name}-title`}>{e.title}</a>
            ))}
            <a href="/">Board</a>
          </nav>
        </header>
        <main>
          <OperatorSection actions={actions} />
          {saga && <SagaHistoryView id={saga.id} found={saga.found} />}
          <div id="overview" data-refresh="/console/fragments/overview">
            <OverviewView overview={overview} actions={actions} />
          </div>
          <LiveEvents sources={overview.feeds.map((f) => f.source)} />
          {explorers.map((explorer) => (
            <ExplorerView explorer={explorer} outcome={searched?.explorer === explorer.name ? searched.outcome : undefined} />
          ))}
        </main>
      </body>
    </html>
  )
}

function OperatorSection({ actions }: { actions: ActionsState }) {
  return (
    <section id="operator" aria-label="Operator">
      {actions.enabled ? (
        // Not a form: pressing Enter must never submit the token in a URL.
        <div id="operator-form" class="inline-form">
          <div class="field">
            <label for="operator-token">Operator token</label>
            <input type="password" id="operator-token" name="operator-token" autocomplete="off" />
          </div>
          <span class="hint">Needed to replay and reset; kept in this tab only.</span>
        </div>
      ) : (
        <p class="hint">Actions are disabled: start the server with TIDINGS_OPERATOR_TOKEN set to replay dead letters or rebuild subscriptions.</p>
      )}
      <p id="action-status" role="status"></p>
    </section>
  )
}

function LiveEvents({ sources }: { sources: string[] }) {
  return (
    <section id="live" aria-labelledby="live-title">
      <h2 id="live-title">Live events</h2>
      <form id="event-filter" class="inline-form">
        <div class="field">
          <label for="event-source">Feed</label>
          <select id="event-source" name="source">
            <option value="">All feeds</option>
            {sources.map((source) => (
              <option value={source}>{source}</option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="event-type">Type</label>
          <input id="event-type" name="type" autocomplete="off" placeholder="e.g. PostCreated" />
        </div>
        <div class="field">
          <label for="event-key">Key</label>
          <input id="event-key" name="key" autocomplete="off" />
        </div>
        <button type="submit" id="watch">
          Watch
        </button>
      </form>
      <noscript>
        <p>The live stream needs JavaScript; it is also at /console/api/events (server-sent events).</p>
      </noscript>
      <p id="events-status" role="status">
        Not watching.
      </p>
      <div class="scroll">
        <table data-table="events">
          <thead>
            <tr>
              <th scope="col">Occurred</th>
              <th scope="col">Feed</th>
              <th scope="col">Type</th>
              <th scope="col">Key</th>
              <th scope="col">Version</th>
              <th scope="col">Position</th>
            </tr>
          </thead>
          <tbody id="events"></tbody>
        </table>
      </div>
    </section>
  )
}
