import type { ConsoleExplorer, ExplorerCell } from './explorer'

/** What a search gave: rows, or the reason the input was refused. */
export type ExplorerOutcome = { query: Record<string, string> } & ({ rows: Array<Record<string, ExplorerCell>> } | { error: string })

/** A search form that works without script (a GET of the console page), and its results. */
export function ExplorerView({ explorer, outcome }: { explorer: ConsoleExplorer; outcome?: ExplorerOutcome | undefined }) {
  const id = `explorer-${explorer.name}`
  return (
    <section id={id} aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{explorer.title}</h2>
      <form method="get" action={`/console#${id}`} class="inline-form">
        <input type="hidden" name="explorer" value={explorer.name} />
        {explorer.fields.map((field) => (
          <div class="field">
            <label for={`${id}-${field.name}`}>{field.label}</label>
            <input id={`${id}-${field.name}`} name={field.name} value={outcome?.query[field.name] ?? ''} placeholder={field.placeholder} autocomplete="off" />
          </div>
        ))}
        <button type="submit">Search</button>
      </form>
      {outcome ? <Outcome outcome={outcome} /> : ''}
    </section>
  )
}

function Outcome({ outcome }: { outcome: ExplorerOutcome }) {
  if ('error' in outcome) return <p role="alert" class="error">{outcome.error}</p>
  if (outcome.rows.length === 0) return <p role="status">Nothing found.</p>
  const columns = [...new Set(outcome.rows.flatMap((row) => Object.keys(row)))]
  return (
    <div class="scroll">
      <table data-table="explorer-results">
        <thead>
          <tr>
            {columns.map((column) => (
              <th scope="col">{column}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {outcome.rows.map((row) => (
            <tr>
              {columns.map((column) => (
                <td>{cell(row[column])}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

const cell = (value: ExplorerCell | undefined): string => (value === null || value === undefined ? '—' : String(value))
