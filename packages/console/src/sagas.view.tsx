import type { SagaHistoryLine } from '@tidings/postgres'
import { count, time } from './format'
import type { SagaView, SagasView } from './operations'
import type { ActionsState } from './overview.view'

/** Open sagas per type and status, and the parked ones with their retry. */
export function SagasSection({ sagas, actions }: { sagas: SagasView; actions: ActionsState }) {
  return (
    <section aria-labelledby="sagas-title">
      <h2 id="sagas-title">Sagas</h2>
      {sagas.open.length === 0 ? (
        <p data-empty="sagas">None running, compensating or failed.</p>
      ) : (
        <div class="scroll">
          <table data-table="sagas">
            <thead>
              <tr>
                <th scope="col">Type</th>
                <th scope="col">Status</th>
                <th scope="col">Sagas</th>
              </tr>
            </thead>
            <tbody>
              {sagas.open.map((row) => (
                <tr data-saga-type={row.type} data-status={row.status}>
                  <th scope="row">{row.type}</th>
                  <td>{row.status}</td>
                  <td class="num">{count(row.count)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {sagas.failed.length > 0 && <FailedSagas sagas={sagas.failed} actions={actions} />}
    </section>
  )
}

function FailedSagas({ sagas, actions }: { sagas: SagaView[]; actions: ActionsState }) {
  return (
    <div class="scroll">
      <table data-table="failed-sagas">
        <caption>Parked: a compensation could not be done (its history says why). Fix the cause, then retry.</caption>
        <thead>
          <tr>
            <th scope="col">Saga</th>
            <th scope="col">Why</th>
            <th scope="col">Since</th>
            <th scope="col">Retry</th>
          </tr>
        </thead>
        <tbody>
          {sagas.map((saga) => (
            <tr data-saga={saga.id}>
              <th scope="row">
                <a href={`/console?saga=${encodeURIComponent(saga.id)}#saga-title`}>{saga.id}</a>
                <br />
                <small>{saga.type}</small>
              </th>
              <td class="error">{saga.reason ?? ''}</td>
              <td>{time(saga.updatedAt)}</td>
              <td>
                <button type="button" data-action="retry-saga" data-id={saga.id} disabled={!actions.enabled} aria-label={`Retry saga ${saga.id}`}>
                  Retry
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

/** One saga: where it stands and every step it took. */
export function SagaHistoryView({ found, id }: { found: { saga: SagaView; history: SagaHistoryLine[] } | undefined; id: string }) {
  return (
    <section aria-labelledby="saga-title">
      <h2 id="saga-title">Saga {id}</h2>
      {!found ? (
        <p data-empty="saga">No saga has this id.</p>
      ) : (
        <>
          <p>
            {found.saga.type} · <strong data-field="saga-status">{found.saga.status}</strong>
            {found.saga.reason ? ` · ${found.saga.reason}` : ''} · started {time(found.saga.startedAt)}
            {found.saga.endedAt ? `, ended ${time(found.saga.endedAt)}` : ''}
          </p>
          <div class="scroll">
            <table data-table="saga-history">
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">Step</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">Attempt</th>
                  <th scope="col">Detail</th>
                  <th scope="col">At</th>
                </tr>
              </thead>
              <tbody>
                {found.history.map((line) => (
                  <tr data-outcome={line.outcome}>
                    <td class="num">{line.seq}</td>
                    <th scope="row">{line.step}</th>
                    <td>{line.outcome}</td>
                    <td class="num">{line.attempt}</td>
                    <td>{line.detail ?? ''}</td>
                    <td>{time(line.at.toISOString())}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  )
}
