import type { AlertView, DeadLetterView, FeedView, Overview, SubscriptionView } from './operations'
import { count, rate, seconds, time } from './format'
import { SagasSection } from './sagas.view'

/** Whether the action buttons work: only with an operator token configured. */
export interface ActionsState {
  enabled: boolean
}

/** The refreshed part of the console: feeds, subscriptions, dead letters, sagas and recent alerts, as of `overview.at`. */
export function OverviewView({ overview, actions }: { overview: Overview; actions: ActionsState }) {
  return (
    <>
      <p class="as-of">
        As of <time datetime={overview.at}>{time(overview.at)}</time> UTC
      </p>
      <FeedsTable feeds={overview.feeds} />
      <SubscriptionsTable subscriptions={overview.subscriptions} actions={actions} />
      <DeadLettersTable letters={overview.deadLetters} actions={actions} />
      <SagasSection sagas={overview.sagas} actions={actions} />
      <AlertsTable alerts={overview.alerts} />
    </>
  )
}

function FeedsTable({ feeds }: { feeds: FeedView[] }) {
  return (
    <section aria-labelledby="feeds-title">
      <h2 id="feeds-title">Feeds</h2>
      <div class="scroll">
        <table data-table="feeds">
          <thead>
            <tr>
              <th scope="col">Feed</th>
              <th scope="col">Head position</th>
              <th scope="col">Readers</th>
              <th scope="col">Backlog</th>
              <th scope="col">Oldest unread</th>
              <th scope="col">Retained</th>
              <th scope="col">Oldest retained</th>
              <th scope="col">Retention</th>
            </tr>
          </thead>
          <tbody>
            {feeds.map((feed) => (
              <tr data-feed={feed.source}>
                <th scope="row">{feed.source}</th>
                <td>
                  <code>{feed.head}</code>
                </td>
                <td class="num">{count(feed.readers)}</td>
                <td class="num" data-field="backlog">
                  {count(feed.backlog.events)}
                </td>
                <td class="num">{seconds(feed.backlog.seconds)}</td>
                <td class="num">{count(feed.retained.events)}</td>
                <td>{time(feed.retained.oldestAt)}</td>
                <td class="num">{seconds(feed.retained.retentionSeconds)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  )
}

function SubscriptionsTable({ subscriptions, actions }: { subscriptions: SubscriptionView[]; actions: ActionsState }) {
  return (
    <section aria-labelledby="subscriptions-title">
      <h2 id="subscriptions-title">Subscriptions</h2>
      <div class="scroll">
        <table data-table="subscriptions">
          <thead>
            <tr>
              <th scope="col">Subscription</th>
              <th scope="col">Feed</th>
              <th scope="col">Position</th>
              <th scope="col">Lag (events)</th>
              <th scope="col">Lag (time)</th>
              <th scope="col">Rate</th>
              <th scope="col">Active instance</th>
              <th scope="col">Dead letters</th>
              <th scope="col">Rebuild</th>
            </tr>
          </thead>
          <tbody>
            {subscriptions.flatMap((sub) =>
              sub.follows.map((followed, i) => (
                <tr data-subscription={sub.name} data-source={followed.source}>
                  {i === 0 ? (
                    <th scope="rowgroup" rowspan={sub.follows.length}>
                      {sub.name}
                      {sub.mode === 'deferred' ? <span class="tag">deferred</span> : ''}
                    </th>
                  ) : (
                    ''
                  )}
                  <td>{followed.source}</td>
                  <td>
                    <code>{followed.position}</code>
                  </td>
                  <td class="num" data-field="lag">
                    {count(followed.lagEvents)}
                  </td>
                  <td class="num">{seconds(followed.lagSeconds)}</td>
                  {i === 0 ? <SubscriptionCells sub={sub} actions={actions} /> : ''}
                </tr>
              )),
            )}
          </tbody>
        </table>
      </div>
    </section>
  )
}

function SubscriptionCells({ sub, actions }: { sub: SubscriptionView; actions: ActionsState }) {
  const rows = sub.follows.length
  return (
    <>
      <td class="num" rowspan={rows}>
        {rate(sub.perSecond)}
      </td>
      <td rowspan={rows}>
        {sub.activeInstance === null ? <span class="warn">none</span> : <code>{sub.activeInstance}</code>}
        {sub.here.active ? <span class="tag">this process</span> : ''}
      </td>
      <td class="num" rowspan={rows} data-field="dead-letters">
        {count(sub.deadLetters)}
      </td>
      <td rowspan={rows}>
        <button type="button" data-action="reset" data-name={sub.name} disabled={!actions.enabled} aria-label={`Rebuild ${sub.name} from the start`}>
          Reset
        </button>
      </td>
    </>
  )
}

function DeadLettersTable({ letters, actions }: { letters: DeadLetterView[]; actions: ActionsState }) {
  return (
    <section aria-labelledby="dead-letters-title">
      <h2 id="dead-letters-title">Dead letters</h2>
      {letters.length === 0 ? (
        <p data-empty="dead-letters">None. Every message was applied.</p>
      ) : (
        <div class="scroll">
          <table data-table="dead-letters">
            <thead>
              <tr>
                <th scope="col">Consumer</th>
                <th scope="col">Event</th>
                <th scope="col">Error</th>
                <th scope="col">Attempts</th>
                <th scope="col">Failed at</th>
                <th scope="col">Replay</th>
              </tr>
            </thead>
            <tbody>
              {letters.map((letter) => (
                <tr data-dead-letter={letter.id} data-consumer={letter.consumer}>
                  <th scope="row">{letter.consumer}</th>
                  <td>
                    {letter.type}
                    <br />
                    <small>
                      {letter.source} · key <code>{letter.key}</code>
                    </small>
                  </td>
                  <td class="error">
                    <code>{letter.error}</code>
                  </td>
                  <td class="num">{letter.attempts}</td>
                  <td>{time(letter.failedAt)}</td>
                  <td>
                    <button
                      type="button"
                      data-action="replay"
                      data-schema={letter.schema}
                      data-id={letter.id}
                      disabled={!actions.enabled || !letter.replayable}
                      aria-label={`Replay ${letter.type} for ${letter.consumer}`}
                    >
                      Replay
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  )
}

function AlertsTable({ alerts }: { alerts: AlertView[] }) {
  return (
    <section aria-labelledby="alerts-title">
      <h2 id="alerts-title">Recent alerts</h2>
      {alerts.length === 0 ? (
        <p data-empty="alerts">None since this process started.</p>
      ) : (
        <div class="scroll">
          <table data-table="alerts">
            <thead>
              <tr>
                <th scope="col">Where</th>
                <th scope="col">Kind</th>
                <th scope="col">Message</th>
                <th scope="col">Times</th>
                <th scope="col">First</th>
                <th scope="col">Last</th>
              </tr>
            </thead>
            <tbody>
              {alerts.map((alert) => (
                <tr data-alert={alert.kind} data-code={alert.code}>
                  <th scope="row">{alert.where}</th>
                  <td>
                    {alert.kind}
                    <br />
                    <small>
                      <code>{alert.code}</code>
                    </small>
                  </td>
                  <td class="error">{alert.message}</td>
                  <td class="num">{count(alert.count)}</td>
                  <td>{time(alert.firstAt)}</td>
                  <td>{time(alert.lastAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  )
}
