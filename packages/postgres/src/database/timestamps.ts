/** A timestamp column as ISO-8601: PostgreSQL drivers give Dates, some paths strings. */
export const isoTime = (value: Date | string): string => new Date(value).toISOString()

export const isoTimeOrNull = (value: Date | string | null): string | null => (value === null ? null : isoTime(value))
