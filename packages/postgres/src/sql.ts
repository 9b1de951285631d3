const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/

/** Schema names are spliced into SQL, so they are checked, never escaped. */
export function schemaName(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`Not a valid schema name: ${JSON.stringify(name)}`)
  return `"${name}"`
}

/** "board.post" → "board_post": the schema a service's tables live in. */
export function schemaForService(service: string): string {
  return service.toLowerCase().replace(/[^a-z0-9_]/g, '_')
}
