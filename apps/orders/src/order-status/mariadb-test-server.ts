import { createConnection } from 'mysql2/promise'

export const MARIADB_URL = process.env.TEST_MARIADB_URL ?? 'mysql://root@127.0.0.1:3306/test'

/** True when a MariaDB answers; in CI (CI=true) a missing server is a failure, elsewhere a reported skip. */
export async function mariadbReachable(): Promise<boolean> {
  try {
    const connection = await createConnection({ uri: MARIADB_URL, connectTimeout: 2000 })
    await connection.query('SELECT 1')
    await connection.end()
    return true
  } catch (error) {
    if (process.env.CI === 'true') throw new Error(`MariaDB is required in CI but ${MARIADB_URL} did not answer: ${String(error)}`)
    console.warn(`[tidings] SKIPPED MariaDB suites: no server at ${MARIADB_URL}`)
    return false
  }
}
