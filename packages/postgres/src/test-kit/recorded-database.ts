import type { Database } from '../database/database'

/**
 * For tests: the database, with the verb of every statement sent through it written down, in order —
 * `BEGIN` when a transaction starts, `tx <verb>` for a statement in one, `<verb>` for one sent alone.
 */
export function recorded(db: Database): { db: Database; sent: string[] } {
  const sent: string[] = []
  const verb = (sql: string) => sql.trim().split(/\s+/)[0]!.toUpperCase()
  return {
    sent,
    db: {
      engine: db.engine,
      query: (sql, params) => (sent.push(verb(sql)), db.query(sql, params)),
      transaction: (work) => {
        sent.push('BEGIN')
        return db.transaction((tx) => work({ query: (sql, params) => (sent.push(`tx ${verb(sql)}`), tx.query(sql, params)) }))
      },
      listen: (channel, onPayload) => db.listen(channel, onPayload),
      notify: (channel, payload) => db.notify(channel, payload),
      close: () => db.close(),
    },
  }
}
