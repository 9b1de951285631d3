/** A stream entry as Redis returns it: its id and its fields as `[name, value, name, value, …]`. */
export type StreamEntry = [id: string, fields: string[]]

/** The entry's field `e` (the envelope as JSON), undefined when it has none. */
export function envelopeField(fields: readonly string[]): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === 'e') return fields[i + 1]
  return undefined
}
